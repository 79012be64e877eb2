"""The demo site's content: real held-out review texts dressed up as comments on products.

Only the TEST split is served, so a model scored on a demo crawl never sees its own training
texts. Everything a real site would add (which page or API a comment is on, its product, author
and date) is drawn from a seeded generator over the full split, so a comment keeps its native id
and metadata whatever ``limit`` is asked for, and every run serves the same site.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from crawlers.spiders.demo_api import SOURCE as API_SOURCE
from crawlers.spiders.demo_reviews import SOURCE as HTML_SOURCE
from models.data import load_examples
from pipeline.records import make_id

SEED = "yuqing-demo-site-v1"
CHINA_TZ = timezone(timedelta(hours=8))
FIRST_DATE = datetime(2024, 1, 1, tzinfo=CHINA_TZ)
MINUTES_IN_YEAR = 366 * 24 * 60
ANONYMOUS_SHARE = 0.1


@dataclass(frozen=True)
class Product:
    id: str
    name: str


PRODUCTS = (
    Product("p01", "云栖湖景酒店"),
    Product("p02", "轻薄笔记本电脑 14 英寸"),
    Product("p03", "儿童绘本套装"),
    Product("p04", "商务快捷酒店（火车站店）"),
    Product("p05", "长篇小说精装版"),
    Product("p06", "家用蓝牙音箱"),
)


@dataclass(frozen=True)
class DemoComment:
    """One comment as the site publishes it; ``example_id`` ties it back to the labelled data."""

    native_id: str
    source: str
    product_id: str
    author: str | None
    published_at: datetime
    text: str
    example_id: str

    @property
    def record_id(self) -> str:
        """The id the crawl must give this comment's record (its Kafka key)."""
        return make_id(self.source, self.native_id)


def demo_comments(limit: int | None = None) -> list[DemoComment]:
    """The site's comments: the first ``limit`` of a seeded shuffle of the test split."""
    examples = load_examples("test")
    rng = random.Random(SEED)
    rng.shuffle(examples)
    comments = []
    for number, example in enumerate(examples, start=1):
        source = HTML_SOURCE if rng.random() < 0.5 else API_SOURCE
        anonymous = rng.random() < ANONYMOUS_SHARE
        comments.append(
            DemoComment(
                native_id=f"{'r' if source == HTML_SOURCE else 'c'}{number:05d}",
                source=source,
                product_id=rng.choice(PRODUCTS).id,
                author=None if anonymous else f"用户{rng.randrange(10_000, 100_000)}",
                published_at=FIRST_DATE + timedelta(minutes=rng.randrange(MINUTES_IN_YEAR)),
                text=example.text,
                example_id=example.id,
            )
        )
    return comments if limit is None else comments[:limit]
