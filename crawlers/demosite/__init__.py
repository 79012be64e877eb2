"""A local stand-in for the review sites Yuqing crawls, serving real held-out review texts."""

from crawlers.demosite.comments import API_SOURCE, HTML_SOURCE, DemoComment, demo_comments
from crawlers.demosite.server import DemoSite

__all__ = ["API_SOURCE", "HTML_SOURCE", "DemoComment", "DemoSite", "demo_comments"]
