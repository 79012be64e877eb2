"""The spiders' parsing, fed real responses from the demo site over loopback.

A tiny loop stands in for Scrapy's engine: it fetches each request the spider yields and calls
its callback, so these tests need no reactor and still cover pagination end to end.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime

from scrapy import Request, Spider
from scrapy.http import HtmlResponse, TextResponse

from crawlers.items import CommentItem
from crawlers.spiders.demo_api import DemoApiSpider, epoch_to_iso
from crawlers.spiders.demo_reviews import DemoReviewsSpider
from devkit.demosite.comments import DemoComment
from devkit.demosite.server import DemoSite


def fetch(request: Request) -> TextResponse:
    with urllib.request.urlopen(request.url, timeout=5) as answer:
        body, kind = answer.read(), answer.headers.get_content_type()
    cls = HtmlResponse if kind == "text/html" else TextResponse
    return cls(url=request.url, body=body, encoding="utf-8", request=request)


def crawl_without_engine(spider: Spider) -> list[CommentItem]:
    async def first_requests(start: AsyncIterator[Request]) -> list[Request]:
        return [request async for request in start]

    pending = asyncio.run(first_requests(spider.start()))
    items: list[CommentItem] = []
    while pending:
        request = pending.pop(0)
        for output in request.callback(fetch(request)):
            (pending if isinstance(output, Request) else items).append(output)
    return items


def expected(comment: DemoComment) -> tuple[str, str, str | None, datetime]:
    return comment.native_id, comment.text, comment.author, comment.published_at


def scraped(item: CommentItem) -> tuple[str | None, str | None, str | None, datetime]:
    assert item.published_at is not None
    return item.native_id, item.text, item.author, datetime.fromisoformat(item.published_at)


def test_reviews_spider_follows_every_product_and_page(demo_site: DemoSite) -> None:
    items = crawl_without_engine(DemoReviewsSpider(base_url=demo_site.base_url + "/"))
    assert Counter(scraped(item) for item in items) == Counter(map(expected, demo_site.html))
    assert {item.source for item in items} == {"demo-reviews"}
    assert all(item.url.endswith(f"#review-{item.native_id}") for item in items)
    assert any(item.author is None for item in items), "anonymous reviews keep no author"


def test_api_spider_follows_the_cursor_to_the_end(demo_site: DemoSite) -> None:
    items = crawl_without_engine(DemoApiSpider(base_url=demo_site.base_url))
    assert Counter(scraped(item) for item in items) == Counter(map(expected, demo_site.api))
    assert {item.source for item in items} == {"demo-api"}
    assert items[0].url == f"{demo_site.base_url}/api/comments/{items[0].native_id}"


def test_epoch_to_iso_passes_through_what_it_cannot_convert() -> None:
    assert epoch_to_iso(0) == "1970-01-01T00:00:00+00:00"
    assert epoch_to_iso("昨天") == "昨天"
    assert epoch_to_iso(None) is None
