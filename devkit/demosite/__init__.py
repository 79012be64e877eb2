"""A local stand-in for the review sites Yuqing crawls, serving real held-out review texts."""
