"""What the demo site answers, as pure functions of its comments: easy to test without HTTP.

The two kinds of source mirror what Chinese review sites really expose: paginated HTML review
pages (a shop's product reviews) and a JSON API paged by an opaque cursor (a forum's feed).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from html import escape

from devkit.demosite.comments import PRODUCTS, DemoComment, Product

ROBOTS_TXT = "User-agent: *\nDisallow: /admin/\n"
PAGE_SIZE = 10
DEFAULT_LIMIT, MAX_LIMIT = 20, 100


class NotFound(LookupError):
    """The request names a page, product or comment that does not exist (HTTP 404)."""


class BadRequest(ValueError):
    """The request's parameters are malformed (HTTP 400)."""


def document(title: str, body: str) -> str:
    """A whole HTML page, UTF-8 and zh-CN, around ``body``; ``title`` is escaped here."""
    return (
        f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )


def index_page(products: Sequence[Product] = PRODUCTS) -> str:
    items = "\n".join(
        f'<li class="product"><a href="/products/{p.id}/reviews">{escape(p.name)}</a></li>'
        for p in products
    )
    return document("演示商城", f'<h1>演示商城</h1>\n<ul class="products">\n{items}\n</ul>')


def _review(comment: DemoComment) -> str:
    author = escape(comment.author) if comment.author else '<span class="anonymous">匿名用户</span>'
    stamp = comment.published_at
    return (
        f'<li class="review" id="review-{comment.native_id}" data-review-id="{comment.native_id}">'
        f'<span class="author">{author}</span> '
        f'<time datetime="{stamp.isoformat()}">{stamp:%Y-%m-%d %H:%M}</time>'
        f'<p class="content">{escape(comment.text)}</p></li>'
    )


def reviews_page(reviews: Sequence[DemoComment], product: Product, page: int) -> str:
    """Page ``page`` (from 1) of one product's reviews, linking to the next page if any."""
    last = max(1, math.ceil(len(reviews) / PAGE_SIZE))
    if not 1 <= page <= last:
        raise NotFound(f"product {product.id} has {last} review pages, not page {page}")
    shown = reviews[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    href = f"/products/{product.id}/reviews?page="
    links = []
    if page > 1:
        links.append(f'<a rel="prev" href="{href}{page - 1}">上一页</a>')
    if page < last:
        links.append(f'<a rel="next" href="{href}{page + 1}">下一页</a>')
    body = (
        f'<h1 class="product-name">{escape(product.name)}</h1>\n<ul class="reviews">\n'
        + "\n".join(_review(comment) for comment in shown)
        + f'\n</ul>\n<nav class="pager">第 {page}/{last} 页 {" ".join(links)}</nav>'
    )
    return document(f"{product.name} 的评价 第{page}页", body)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode("ascii")


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode("ascii")).decode().partition(":")
        offset = int(value)
    except (UnicodeError, binascii.Error, ValueError):
        raise BadRequest(f"invalid cursor {cursor!r}") from None
    if kind != "offset" or offset < 0:
        raise BadRequest(f"invalid cursor {cursor!r}")
    return offset


def api_comment(comment: DemoComment) -> dict[str, object]:
    """The API's own shape, unlike our record's: nested user, epoch seconds, ``content``."""
    return {
        "id": comment.native_id,
        "product_id": comment.product_id,
        "user": {"nickname": comment.author} if comment.author else None,
        "content": comment.text,
        "created_at": int(comment.published_at.timestamp()),
    }


def comment_detail(comment: DemoComment) -> str:
    return json.dumps(api_comment(comment), ensure_ascii=False)


def comments_api(comments: Sequence[DemoComment], cursor: str | None, limit: int) -> str:
    """One page of the feed; ``next_cursor`` is null on the last page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    offset = decode_cursor(cursor) if cursor else 0
    end = offset + limit
    payload = {
        "comments": [api_comment(comment) for comment in comments[offset:end]],
        "next_cursor": encode_cursor(end) if end < len(comments) else None,
    }
    return json.dumps(payload, ensure_ascii=False)
