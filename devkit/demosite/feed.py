"""The news site's reader comments as a feed (RSS 2.0 or Atom) and a page per comment.

Feeds are what many Chinese news sites and blogs still offer a crawler. A feed carries only the
newest entries, so a scheduler that polls too rarely misses some; older entries are reachable
WordPress-style with ``?paged=N`` and an RFC 5005 ``rel="next"`` link, which lets a test read
the whole feed. XML is built with ElementTree, which escapes ``<`` and ``&`` in review texts.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from html import escape

from devkit.demosite.comments import CHINA_TZ, PRODUCTS, DemoComment
from devkit.demosite.pages import NotFound, document

FEED_PAGE_SIZE = 20
TITLE_CHARS = 30
ATOM_NS = "http://www.w3.org/2005/Atom"
DC_NS = "http://purl.org/dc/elements/1.1/"
ET.register_namespace("atom", ATOM_NS)
ET.register_namespace("dc", DC_NS)
# XML 1.0 forbids most control characters even escaped; a stray one would break every reader.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PRODUCT_NAMES = {p.id: p.name for p in PRODUCTS}
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


def comment_path(comment: DemoComment) -> str:
    return f"/news/comments/{comment.native_id}"


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _title(comment: DemoComment) -> str:
    text = _text(comment.text)
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS] + "…"


def _page(newest_first: Sequence[DemoComment], page: int) -> Sequence[DemoComment]:
    last = max(1, math.ceil(len(newest_first) / FEED_PAGE_SIZE))
    if not 1 <= page <= last:
        raise NotFound(f"the feed has {last} pages, not page {page}")
    return newest_first[(page - 1) * FEED_PAGE_SIZE : page * FEED_PAGE_SIZE]


def _has_next(newest_first: Sequence[DemoComment], page: int) -> bool:
    return page * FEED_PAGE_SIZE < len(newest_first)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    element.text = text
    return element


def rss(newest_first: Sequence[DemoComment], base_url: str, now: datetime, page: int = 1) -> str:
    """RSS 2.0: ``guid`` is the comment's id, ``pubDate`` RFC 2822 in Beijing time."""
    shown = _page(newest_first, page)
    root = ET.Element("rss", {"version": "2.0"})
    channel = _sub(root, "channel")
    _sub(channel, "title", "演示新闻 - 读者评论")
    _sub(channel, "link", f"{base_url}/news/")
    _sub(channel, "description", "演示新闻网站的最新读者评论")
    _sub(channel, "language", "zh-cn")
    _sub(channel, "lastBuildDate", format_datetime(now.astimezone(CHINA_TZ)))
    self_href = f"{base_url}/feed.xml" + (f"?paged={page}" if page > 1 else "")
    _sub(channel, f"{{{ATOM_NS}}}link", href=self_href, rel="self", type="application/rss+xml")
    if _has_next(newest_first, page):
        _sub(channel, f"{{{ATOM_NS}}}link", href=f"{base_url}/feed.xml?paged={page + 1}",
             rel="next", type="application/rss+xml")
    for comment in shown:
        item = _sub(channel, "item")
        _sub(item, "title", _title(comment))
        _sub(item, "link", base_url + comment_path(comment))
        _sub(item, "description", _text(comment.text))
        if comment.author:
            _sub(item, f"{{{DC_NS}}}creator", comment.author)
        _sub(item, "category", _PRODUCT_NAMES.get(comment.product_id, comment.product_id))
        _sub(item, "guid", comment.native_id, isPermaLink="false")
        _sub(item, "pubDate", format_datetime(comment.published_at.astimezone(CHINA_TZ)))
    return XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def atom(newest_first: Sequence[DemoComment], base_url: str, now: datetime,
         page: int = 1) -> str:
    """The same entries as Atom: ``id`` is a URN of the comment's id, dates RFC 3339."""
    shown = _page(newest_first, page)
    root = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(root, f"{{{ATOM_NS}}}title", "演示新闻 - 读者评论")
    _sub(root, f"{{{ATOM_NS}}}id", "urn:yuqing-demo:news-comments")
    _sub(root, f"{{{ATOM_NS}}}updated", now.astimezone(CHINA_TZ).replace(microsecond=0)
         .isoformat())
    _sub(root, f"{{{ATOM_NS}}}link", href=f"{base_url}/news/", rel="alternate")
    if _has_next(newest_first, page):
        _sub(root, f"{{{ATOM_NS}}}link", href=f"{base_url}/feed.atom?paged={page + 1}",
             rel="next")
    for comment in shown:
        entry = _sub(root, f"{{{ATOM_NS}}}entry")
        _sub(entry, f"{{{ATOM_NS}}}id", f"urn:yuqing-demo:news-comment:{comment.native_id}")
        _sub(entry, f"{{{ATOM_NS}}}title", _title(comment))
        _sub(entry, f"{{{ATOM_NS}}}link", href=base_url + comment_path(comment))
        stamp = comment.published_at.astimezone(CHINA_TZ).isoformat()
        _sub(entry, f"{{{ATOM_NS}}}published", stamp)
        _sub(entry, f"{{{ATOM_NS}}}updated", stamp)
        if comment.author:
            _sub(_sub(entry, f"{{{ATOM_NS}}}author"), f"{{{ATOM_NS}}}name", comment.author)
        _sub(entry, f"{{{ATOM_NS}}}content", _text(comment.text), type="text")
    return XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def comment_page(comment: DemoComment) -> str:
    """Where an item's ``link`` leads: the one comment, for a crawler that follows links."""
    stamp = comment.published_at.astimezone(CHINA_TZ)
    author = escape(comment.author) if comment.author else "匿名网友"
    body = (
        f'<article class="comment" data-comment-id="{comment.native_id}">'
        f'<span class="author">{author}</span> '
        f'<time datetime="{stamp.isoformat()}">{stamp:%Y-%m-%d %H:%M:%S}</time>'
        f'<p class="content">{escape(comment.text)}</p></article>'
    )
    return document("演示新闻 - 读者评论", body)
