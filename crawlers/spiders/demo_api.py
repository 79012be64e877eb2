"""The demo forum's JSON comment feed, paged by an opaque cursor until ``next_cursor`` is null."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from scrapy import Request, Spider
from scrapy.http import TextResponse

from crawlers.items import CommentItem
from crawlers.spiders import DEMO_SITE, LOOPBACK_SETTINGS

SOURCE = "demo-api"

PAGE_SIZE = 100


def epoch_to_iso(value: object) -> str | None:
    """The API's epoch seconds as ISO 8601; anything else passes through for validation to judge."""
    if value is None or isinstance(value, str):
        return value
    return datetime.fromtimestamp(value, UTC).isoformat() if isinstance(value, int) else str(value)


class DemoApiSpider(Spider):
    """Reads the feed page by page; only the API's shape is mapped here, not validated."""

    name = "demo_api"
    custom_settings = LOOPBACK_SETTINGS

    def __init__(self, base_url: str = DEMO_SITE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    async def start(self) -> AsyncIterator[Request]:
        yield self.page_request(None)

    def page_request(self, cursor: str | None) -> Request:
        query = {"limit": PAGE_SIZE} | ({"cursor": cursor} if cursor else {})
        url = f"{self.base_url}/api/comments?{urlencode(query)}"
        return Request(url, callback=self.parse)

    def parse(self, response: TextResponse, **kwargs: Any) -> Iterator[CommentItem | Request]:
        payload = response.json()
        for comment in payload["comments"]:
            yield CommentItem(
                source=SOURCE,
                url=f"{self.base_url}/api/comments/{comment.get('id')}",
                text=comment.get("content"),
                native_id=comment.get("id"),
                author=(comment.get("user") or {}).get("nickname"),
                published_at=epoch_to_iso(comment.get("created_at")),
            )
        if payload.get("next_cursor"):
            yield self.page_request(payload["next_cursor"])
