"""What spiders yield: the fields of a comment exactly as a site published them.

Spiders do no validation; :class:`crawlers.pipelines.KafkaPipeline` turns an item into a
:class:`pipeline.records.CommentRecord` or a dead letter, so a site that changes its markup
shows up as dead letters with reasons rather than as silently missing comments.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CommentItem:
    """One comment as scraped; ``native_id`` is the site's own id, if it shows one."""

    source: str
    url: str
    text: str | None
    native_id: str | None = None
    author: str | None = None
    published_at: str | None = None
