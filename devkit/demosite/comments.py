"""The demo site's content: real held-out review texts dressed up as comments on products.

Only the TEST split is served, so a model scored on a demo crawl never sees its own training
texts. Everything a real site would add (which page or API a comment is on, its product, author
and date) is drawn from a seeded generator over the full split, so a comment keeps its native id
and metadata whatever ``limit`` is asked for, and every run serves the same site.

Two deals of the same texts exist. :func:`demo_comments` is the original two-source site (HTML
review pages and a cursor API) that the demo spiders and ``yuqing demo`` crawl.
:func:`platform_comments` deals every text to exactly one of six platforms, the two original
ones plus a Weibo-like API, a shop's review API, a forum and a news site's feed, with dates
spread back from ``now`` so that Weibo's relative dates ("3分钟前", "昨天 12:30") all occur.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from crawlers.spiders.demo_api import SOURCE as API_SOURCE
from crawlers.spiders.demo_reviews import SOURCE as HTML_SOURCE
from models.data import NEGATIVE, load_examples
from pipeline.records import make_id

SEED = "yuqing-demo-site-v1"
CHINA_TZ = timezone(timedelta(hours=8))
FIRST_DATE = datetime(2024, 1, 1, tzinfo=CHINA_TZ)
MINUTES_IN_YEAR = 366 * 24 * 60
ANONYMOUS_SHARE = 0.1

# The platforms profile-driven crawlers read; the two above are the original demo spiders' own.
WEIBO_SOURCE = "demo-weibo"
SHOP_SOURCE = "demo-shop"
FORUM_SOURCE = "demo-forum"
FEED_SOURCE = "demo-feed"
PLATFORM_SOURCES = (HTML_SOURCE, API_SOURCE, WEIBO_SOURCE, SHOP_SOURCE, FORUM_SOURCE, FEED_SOURCE)
PLATFORM_SEED = "yuqing-demo-platforms-v1"
# Weibo and the forum show every author; a shop lets buyers review anonymously (匿名用户).
PLATFORM_ANONYMOUS_SHARE = {HTML_SOURCE: 0.1, API_SOURCE: 0.1, SHOP_SOURCE: 0.15, FEED_SOURCE: 0.1}
# Ages are log-uniform between two minutes and two years: every Weibo date form shows up.
MIN_AGE_S, MAX_AGE_S = 120, 730 * 24 * 3600
WEIBO_FIRST_ID = 4_980_000_000_000_000


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
    rating: int | None = None
    """Stars (1-5) the shop shows with a review; None where the platform has no ratings."""

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


def _platform_ids(comments: list[DemoComment]) -> list[str]:
    """Ids in each platform's own style; Weibo's grow with time, as ``since_id`` relies on."""
    ids = [""] * len(comments)
    prefixes = {HTML_SOURCE: "pr", API_SOURCE: "pc", FEED_SOURCE: "n"}
    for number, comment in enumerate(comments, start=1):
        if comment.source == SHOP_SOURCE:
            ids[number - 1] = str(1_000_000_000 + number * 37)
        elif comment.source == FORUM_SOURCE:
            ids[number - 1] = str(7_000_000 + number)
        elif comment.source in prefixes:
            ids[number - 1] = f"{prefixes[comment.source]}{number:05d}"
    weibo = sorted((i for i, c in enumerate(comments) if c.source == WEIBO_SOURCE),
                   key=lambda i: (comments[i].published_at, i))
    rng = random.Random(f"{PLATFORM_SEED}:weibo-ids")
    for rank, index in enumerate(weibo):
        ids[index] = str(WEIBO_FIRST_ID + rank * 1000 + rng.randrange(1000))
    return ids


def platform_comments(limit: int | None = None, *, now: datetime | None = None
                      ) -> list[DemoComment]:
    """The test split dealt over all six platforms, each text on exactly one of them.

    Dates are ``now`` (default: this minute, Asia/Shanghai) minus a seeded age, so the site looks
    freshly crawled whenever it runs; pass ``now`` to get the same instants twice. Ids, sources,
    authors, products and stars never depend on ``now`` or ``limit``.
    """
    anchor = (now or datetime.now(CHINA_TZ).replace(second=0)).astimezone(CHINA_TZ)
    anchor = anchor.replace(microsecond=0)
    examples = load_examples("test")
    rng = random.Random(PLATFORM_SEED)
    rng.shuffle(examples)
    drafts = []
    for example in examples:
        source = rng.choice(PLATFORM_SOURCES)
        age_s = round(math.exp(rng.uniform(math.log(MIN_AGE_S), math.log(MAX_AGE_S))))
        anonymous = rng.random() < PLATFORM_ANONYMOUS_SHARE.get(source, 0.0)
        author = f"用户{rng.randrange(10_000, 100_000)}"
        stars = rng.choice((1, 1, 2) if example.label == NEGATIVE else (4, 5, 5))
        drafts.append(DemoComment(
            native_id="", source=source, product_id=rng.choice(PRODUCTS).id,
            author=None if anonymous else author,
            published_at=anchor - timedelta(seconds=age_s), text=example.text,
            example_id=example.id, rating=stars if source == SHOP_SOURCE else None,
        ))
    comments = [replace(draft, native_id=native_id)
                for draft, native_id in zip(drafts, _platform_ids(drafts), strict=True)]
    return comments if limit is None else comments[:limit]
