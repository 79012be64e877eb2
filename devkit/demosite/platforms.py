"""The JSON platforms' payloads, as pure functions of the comments they show.

Each mimics what a Chinese platform really returns, quirks included, because profile-driven
crawlers must map those quirks: Weibo's mobile API pages newest first by ``max_id`` and dates
its statuses in relative Chinese ("3分钟前", "昨天 12:30"), while a shop's review API pages by
number, rates with stars and prints local time without a zone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from devkit.demosite.comments import CHINA_TZ, DemoComment, Product
from devkit.demosite.pages import BadRequest

WEIBO_COUNT, WEIBO_MAX_COUNT = 20, 100
SHOP_PAGE_SIZE, SHOP_MAX_PAGE_SIZE = 10, 50
ANONYMOUS_NICKNAME = "匿名用户"


def weibo_time(at: datetime, now: datetime) -> str:
    """Weibo's ``created_at``: relative while recent, then ever coarser dates, all in Beijing
    time, so a crawler must know when it fetched the page to recover the instant."""
    at, now = at.astimezone(CHINA_TZ), now.astimezone(CHINA_TZ)
    age = now - at
    if age < timedelta(minutes=1):
        return "刚刚"
    if age < timedelta(hours=1):
        return f"{age // timedelta(minutes=1)}分钟前"
    if age < timedelta(days=1):
        return f"{age // timedelta(hours=1)}小时前"
    if at.date() == now.date() - timedelta(days=1):
        return f"昨天 {at:%H:%M}"
    if at.year == now.year:
        return f"{at:%m-%d}"
    return f"{at:%Y-%m-%d}"


def _weibo_id(value: str | None, name: str) -> int | None:
    if value is None or value in ("", "0"):
        return None
    if not value.isdigit():
        raise BadRequest(f"{name} must be a status id, not {value!r}")
    return int(value)


def weibo_status(comment: DemoComment, now: datetime) -> dict[str, object]:
    status_id = int(comment.native_id)
    return {
        "id": status_id,
        "idstr": comment.native_id,
        "mid": comment.native_id,
        "created_at": weibo_time(comment.published_at, now),
        "text": comment.text,
        "user": {"id": 1_000_000_000 + status_id % 999_983,
                 "screen_name": comment.author or ANONYMOUS_NICKNAME},
    }


def weibo_statuses(newest_first: Sequence[DemoComment], now: datetime, *,
                   keyword: str = "", since_id: str | None = None, max_id: str | None = None,
                   count: int = WEIBO_COUNT) -> str:
    """One page, newest first: statuses with ``since_id < id <= max_id`` that contain
    ``keyword``. ``data.max_id`` is the ``max_id`` of the next page, 0 after the last;
    ``data.since_id`` is the newest id shown, to poll with next time."""
    if not 1 <= count <= WEIBO_MAX_COUNT:
        raise BadRequest(f"count must be between 1 and {WEIBO_MAX_COUNT}, not {count}")
    newer_than, at_most = _weibo_id(since_id, "since_id"), _weibo_id(max_id, "max_id")
    matching = [
        c for c in newest_first
        if keyword in c.text
        and (newer_than is None or int(c.native_id) > newer_than)
        and (at_most is None or int(c.native_id) <= at_most)
    ]
    shown, rest = matching[:count], matching[count:]
    newest = int(shown[0].native_id) if shown else (newer_than or 0)
    payload = {"ok": 1, "data": {
        "statuses": [weibo_status(c, now) for c in shown],
        "total_number": len(matching),
        "since_id": newest,
        "max_id": int(rest[0].native_id) if rest else 0,
    }}
    return json.dumps(payload, ensure_ascii=False)


def shop_products(products: Sequence[Product], review_counts: dict[str, int]) -> str:
    """The product list a crawler starts from: review pages are per product."""
    return json.dumps({"products": [
        {"product_id": p.id, "name": p.name, "review_count": review_counts.get(p.id, 0)}
        for p in products
    ]}, ensure_ascii=False)


def shop_review(comment: DemoComment) -> dict[str, object]:
    return {
        "review_id": comment.native_id,
        "content": comment.text,
        "score": comment.rating if comment.rating is not None else 3,
        "nickname": comment.author or ANONYMOUS_NICKNAME,
        "anonymous": comment.author is None,
        "creation_time": f"{comment.published_at.astimezone(CHINA_TZ):%Y-%m-%d %H:%M:%S}",
    }


def shop_reviews(newest_first: Sequence[DemoComment], product: Product, *, page: int = 1,
                 page_size: int = SHOP_PAGE_SIZE) -> str:
    """Page ``page`` (from 1) of one product's reviews, newest first.

    A page past the end is empty rather than an error, as on real shops, so a crawler must
    stop on an empty page or on ``max_page``. Pages shift when reviews arrive: a crawler that
    pages while the site publishes sees some reviews twice.
    """
    if page < 1:
        raise BadRequest(f"page starts at 1, not {page}")
    if not 1 <= page_size <= SHOP_MAX_PAGE_SIZE:
        raise BadRequest(f"page_size must be between 1 and {SHOP_MAX_PAGE_SIZE}, not {page_size}")
    shown = newest_first[(page - 1) * page_size : page * page_size]
    return json.dumps({
        "product_id": product.id,
        "total": len(newest_first),
        "page": page,
        "page_size": page_size,
        "max_page": math.ceil(len(newest_first) / page_size),
        "reviews": [shop_review(c) for c in shown],
    }, ensure_ascii=False)
