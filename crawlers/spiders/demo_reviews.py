"""The demo shop's product review pages: an index of products, each with paginated reviews."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.items import CommentItem
from crawlers.spiders import DEMO_SITE, LOOPBACK_SETTINGS

SOURCE = "demo-reviews"


class DemoReviewsSpider(scrapy.Spider):
    """Follows every product from the index, then each product's "next page" links."""

    name = "demo_reviews"
    custom_settings = LOOPBACK_SETTINGS

    def __init__(self, base_url: str = DEMO_SITE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(f"{self.base_url}/", callback=self.parse)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[scrapy.Request]:
        yield from response.follow_all(css="ul.products a", callback=self.parse_reviews)

    def parse_reviews(self, response: Response) -> Iterator[CommentItem | scrapy.Request]:
        for review in response.css("li.review"):
            native_id = review.attrib.get("data-review-id")
            texts = review.css("p.content::text").getall()
            yield CommentItem(
                source=SOURCE,
                url=f"{response.url}#review-{native_id}",
                text="".join(texts) if texts else None,
                native_id=native_id,
                author=review.css("span.author::text").get(),
                published_at=review.css("time::attr(datetime)").get(),
            )
        yield from response.follow_all(css='a[rel="next"]', callback=self.parse_reviews)
