"""The demo site's platforms, crawled over loopback as a profile-driven crawler would.

Every platform is read to its end by its own paging (max_id, page numbers, "下一页" links, the
feed's rel="next") and must show each of its comments exactly once; a live site must show
exactly what :meth:`DemoSite.publish` published, at the newest end of every platform.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
from parsel import Selector

from devkit.demosite.comments import (
    API_SOURCE,
    CHINA_TZ,
    FEED_SOURCE,
    FORUM_SOURCE,
    HTML_SOURCE,
    PLATFORM_SOURCES,
    PRODUCTS,
    SHOP_SOURCE,
    WEIBO_SOURCE,
    DemoComment,
    demo_comments,
    platform_comments,
)
from devkit.demosite.server import DemoSite
from models.data import NEGATIVE, load_examples

NOW = datetime(2025, 3, 15, 10, 30, tzinfo=CHINA_TZ)
ATOM = "{http://www.w3.org/2005/Atom}"


class FrozenClock:
    """The site's clock, moved only by the test, so relative dates are exact."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="module")
def dealt() -> list[DemoComment]:
    return platform_comments(now=NOW)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def site(dealt: list[DemoComment], clock: FrozenClock) -> Iterator[DemoSite]:
    with DemoSite(dealt, clock=clock) as running:
        yield running


@pytest.fixture
def live(dealt: list[DemoComment], clock: FrozenClock) -> Iterator[DemoSite]:
    with DemoSite(dealt, initial=len(dealt) // 2, clock=clock) as running:
        yield running


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode("utf-8")


def get_json(url: str) -> dict:
    return json.loads(get(url))


def raw(url: str) -> http.client.HTTPResponse:
    """One request, redirects not followed, so a test sees what the site really answered."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def ids(comments: list[DemoComment]) -> Counter[str]:
    return Counter(c.native_id for c in comments)


# Crawls, one per platform, each following only what the platform itself offers.


def crawl_weibo(site: DemoSite, **params: str) -> list[dict]:
    statuses: list[dict] = []
    max_id = ""
    while True:
        query = "&".join(f"{k}={v}" for k, v in {"count": "7", **params}.items())
        data = get_json(f"{site.base_url}/m/api/statuses?{query}&max_id={max_id}")["data"]
        statuses += data["statuses"]
        if not data["max_id"]:
            return statuses
        max_id = str(data["max_id"])


def crawl_shop(site: DemoSite, product_id: str) -> list[dict]:
    reviews: list[dict] = []
    for page in range(1, 1000):
        url = f"{site.base_url}/shop/api/products/{product_id}/reviews?page={page}&page_size=4"
        answer = get_json(url)
        if not answer["reviews"]:
            return reviews
        reviews += answer["reviews"]
    raise AssertionError("the shop never ran out of pages")


def follow(site: DemoSite, path: str) -> Iterator[Selector]:
    """Every page from ``path`` on, by its "下一页" link."""
    url: str | None = site.base_url + path
    while url:
        page = Selector(text=get(url))
        yield page
        next_href = page.xpath('//a[text()="下一页"]/@href').get()
        url = site.base_url + next_href if next_href else None


def crawl_forum(site: DemoSite) -> dict[str, Selector]:
    """Every post and reply, by id, and the thread ids in board order."""
    found: dict[str, Selector] = {}
    for board in follow(site, "/forum/"):
        for href in board.css("li.thread a.title::attr(href)").getall():
            for page in follow(site, href):
                for post in page.css("div.post"):
                    assert post.attrib["data-post-id"] not in found
                    found[post.attrib["data-post-id"]] = post
                for reply in page.css("div.reply"):
                    assert reply.attrib["data-reply-id"] not in found
                    found[reply.attrib["data-reply-id"]] = reply
    return found


def board_threads(site: DemoSite) -> list[str]:
    return [t for board in follow(site, "/forum/")
            for t in board.css("li.thread::attr(data-thread-id)").getall()]


def crawl_rss(site: DemoSite) -> list[ET.Element]:
    items: list[ET.Element] = []
    url: str | None = f"{site.base_url}/feed.xml"
    while url:
        channel = ET.fromstring(get(url)).find("channel")
        assert channel is not None
        items += channel.findall("item")
        url = next((link.get("href") for link in channel.findall(f"{ATOM}link")
                    if link.get("rel") == "next"), None)
    return items


# The deal.


def test_platforms_deal_every_test_text_to_exactly_one_platform(dealt: list[DemoComment]
                                                                 ) -> None:
    labels = {example.id: example.label for example in load_examples("test")}
    assert Counter(c.example_id for c in dealt) == Counter(labels.keys())
    assert len({c.record_id for c in dealt}) == len(dealt)
    assert set(Counter(c.source for c in dealt)) == set(PLATFORM_SOURCES)
    assert platform_comments(30, now=NOW) == dealt[:30]
    later = platform_comments(30, now=NOW + timedelta(days=3))
    assert [replace(c, published_at=c.published_at - timedelta(days=3)) for c in later] == \
        dealt[:30]
    assert all(c.published_at < NOW for c in dealt)
    shop = [c for c in dealt if c.source == SHOP_SOURCE]
    assert all((c.rating or 0) <= 2 if labels[c.example_id] == NEGATIVE else (c.rating or 0) >= 4
               for c in shop)
    assert all(c.rating is None for c in dealt if c.source != SHOP_SOURCE)
    weibo = sorted((c for c in dealt if c.source == WEIBO_SOURCE), key=lambda c: c.published_at)
    assert [int(c.native_id) for c in weibo] == sorted(int(c.native_id) for c in weibo)
    assert all(c.rating is None for c in demo_comments(50))


def test_the_original_site_has_nothing_on_the_new_platforms(demo_site: DemoSite) -> None:
    assert get_json(f"{demo_site.base_url}/m/api/statuses")["data"]["statuses"] == []
    assert Selector(text=get(f"{demo_site.base_url}/forum/")).css("li.thread") == []
    assert ET.fromstring(get(f"{demo_site.base_url}/feed.xml")).findall("channel/item") == []


# Weibo.


def weibo_bounds(created_at: str, now: datetime) -> tuple[datetime, datetime]:
    """The instants Weibo's relative date can stand for, ends included."""
    minute, day = timedelta(minutes=1), timedelta(days=1)
    if created_at == "刚刚":
        return now - minute, now
    if found := re.fullmatch(r"(\d+)分钟前", created_at):
        return now - (int(found[1]) + 1) * minute, now - int(found[1]) * minute
    if found := re.fullmatch(r"(\d+)小时前", created_at):
        hours = int(found[1])
        return now - timedelta(hours=hours + 1), now - timedelta(hours=hours)
    if found := re.fullmatch(r"昨天 (\d\d):(\d\d)", created_at):
        start = (now - day).replace(hour=int(found[1]), minute=int(found[2]), second=0)
        return start, start + minute
    if found := re.fullmatch(r"(\d{4}-)?(\d\d)-(\d\d)", created_at):
        year = int(found[1][:4]) if found[1] else now.year
        start = datetime(year, int(found[2]), int(found[3]), tzinfo=CHINA_TZ)
        return start, start + day
    raise AssertionError(f"not a Weibo date: {created_at!r}")


def date_form(created_at: str) -> str:
    return re.sub(r"\d+", "N", created_at)


def test_weibo_pages_by_max_id_newest_first_to_the_end(site: DemoSite) -> None:
    statuses = crawl_weibo(site)
    truth = {c.native_id: c for c in site.published(WEIBO_SOURCE)}
    assert Counter(s["idstr"] for s in statuses) == Counter(truth.keys())
    assert [s["id"] for s in statuses] == sorted((s["id"] for s in statuses), reverse=True)
    for status in statuses:
        comment = truth[status["idstr"]]
        assert status["text"] == comment.text
        assert status["user"]["screen_name"] == comment.author
        low, high = weibo_bounds(status["created_at"], site.now())
        assert low <= comment.published_at <= high, status["created_at"]
    forms = {date_form(s["created_at"]) for s in statuses}
    assert {"N分钟前", "N小时前", "昨天 N:N", "N-N", "N-N-N"} <= forms


def test_weibo_since_id_returns_only_newer_statuses(site: DemoSite) -> None:
    newest_first = crawl_weibo(site)
    since = newest_first[10]["id"]
    newer = crawl_weibo(site, since_id=str(since))
    assert [s["id"] for s in newer] == [s["id"] for s in newest_first[:10]]
    first = get_json(f"{site.base_url}/m/api/statuses?count=3&since_id={since}")["data"]
    assert first["since_id"] == newest_first[0]["id"]
    assert get_json(f"{site.base_url}/m/api/statuses?since_id={first['since_id']}"
                    )["data"]["statuses"] == []


def test_weibo_keyword_filters_statuses(site: DemoSite) -> None:
    matching = [c.native_id for c in site.published(WEIBO_SOURCE) if "酒店" in c.text]
    assert matching
    assert Counter(s["idstr"] for s in crawl_weibo(site, keyword="%E9%85%92%E5%BA%97")) == \
        Counter(matching)


# The shop.


def test_shop_pages_every_products_reviews_once_with_stars(site: DemoSite) -> None:
    products = get_json(f"{site.base_url}/shop/api/products")["products"]
    assert [p["product_id"] for p in products] == [p.id for p in PRODUCTS]
    truth = {c.native_id: c for c in site.published(SHOP_SOURCE)}
    seen: Counter[str] = Counter()
    for product in products:
        reviews = crawl_shop(site, product["product_id"])
        assert len(reviews) == product["review_count"]
        times = [r["creation_time"] for r in reviews]
        assert times == sorted(times, reverse=True), "newest first"
        for review in reviews:
            comment = truth[review["review_id"]]
            assert comment.product_id == product["product_id"]
            assert (review["content"], review["score"]) == (comment.text, comment.rating)
            assert review["nickname"] == (comment.author or "匿名用户")
            assert review["anonymous"] == (comment.author is None)
            shown = datetime.strptime(review["creation_time"], "%Y-%m-%d %H:%M:%S")
            assert shown.replace(tzinfo=CHINA_TZ) == comment.published_at
        seen.update(r["review_id"] for r in reviews)
    assert seen == Counter(truth.keys())
    assert any(r.author is None for r in truth.values())


# The forum.


def test_forum_threads_show_every_post_and_reply_once(site: DemoSite) -> None:
    found = crawl_forum(site)
    truth = {c.native_id: c for c in site.published(FORUM_SOURCE)}
    assert Counter(found.keys()) == Counter(truth.keys())
    nested = 0
    for native_id, node in found.items():
        comment = truth[native_id]
        assert node.xpath("./div[@class='content']/text()").getall() == [comment.text]
        date = node.xpath("./div[@class='meta']/span[@class='date']/text()").get()
        shown = datetime.strptime(date, "%Y年%m月%d日 %H:%M").replace(tzinfo=CHINA_TZ)
        assert shown == comment.published_at.replace(second=0)
        if parent := node.attrib.get("data-parent-id"):
            nested += 1
            assert node.xpath("../..").attrib["data-reply-id"] == parent
            assert truth[parent].published_at <= comment.published_at
    assert nested > 20, "some replies are nested under others"
    assert any(len(list(follow(site, f"/forum/thread/{t}"))) > 1 for t in board_threads(site))


# The feed.


def test_rss_feed_pages_newest_first_to_the_end(site: DemoSite) -> None:
    items = crawl_rss(site)
    truth = {c.native_id: c for c in site.published(FEED_SOURCE)}
    assert Counter(item.findtext("guid") for item in items) == Counter(truth.keys())
    dates = [parsedate_to_datetime(item.findtext("pubDate", "")) for item in items]
    assert dates == sorted(dates, reverse=True)
    for item, date in zip(items, dates, strict=True):
        comment = truth[item.findtext("guid", "")]
        assert date == comment.published_at
        assert item.findtext("description") == comment.text
        assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == comment.author
        link = item.findtext("link", "")
        assert link.startswith(site.base_url)
        page = Selector(text=get(link))
        assert page.css("p.content::text").get() == comment.text


def test_atom_feed_has_the_same_entries(site: DemoSite) -> None:
    feed = ET.fromstring(get(f"{site.base_url}/feed.atom"))
    rss = ET.fromstring(get(f"{site.base_url}/feed.xml")).findall("channel/item")
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id", "").rsplit(":", 1)[1] for e in entries] == \
        [item.findtext("guid") for item in rss]


def test_markup_in_reviews_is_escaped_on_every_platform(dealt: list[DemoComment]) -> None:
    tricky = [c for c in dealt if set(c.text) & set("<>&")]
    assert tricky
    moved = [replace(c, source=source, native_id=f"{number}{i:03d}")
             for number, source in enumerate((FORUM_SOURCE, FEED_SOURCE), start=8)
             for i, c in enumerate(tricky)]
    with DemoSite(moved) as site:
        forum = crawl_forum(site)
        assert sorted(n.xpath("./div[@class='content']/text()").get() for n in forum.values()) \
            == sorted(c.text for c in tricky)
        assert sorted(i.findtext("description") for i in crawl_rss(site)) == \
            sorted(c.text for c in tricky)
        atom = ET.fromstring(get(f"{site.base_url}/feed.atom"))
        assert sorted(e.findtext(f"{ATOM}content") for e in atom.findall(f"{ATOM}entry")) == \
            sorted(c.text for c in tricky)


# Live mode.


def newest_ids(site: DemoSite) -> dict[str, list[str]]:
    """Each platform's comments, newest end first, as a crawler sees them now."""
    legacy_api: list[str] = []
    cursor: str | None = ""
    while cursor is not None:
        page = get_json(f"{site.base_url}/api/comments?limit=100&cursor={cursor}")
        legacy_api += [c["id"] for c in page["comments"]]
        cursor = page["next_cursor"]
    legacy_html = [
        r for p in PRODUCTS
        for page in follow(site, f"/products/{p.id}/reviews")
        for r in page.css("li.review::attr(data-review-id)").getall()
    ]
    return {
        WEIBO_SOURCE: [s["idstr"] for s in crawl_weibo(site)],
        SHOP_SOURCE: [r["review_id"] for p in PRODUCTS for r in crawl_shop(site, p.id)],
        FORUM_SOURCE: list(crawl_forum(site)),
        FEED_SOURCE: [i.findtext("guid", "") for i in crawl_rss(site)],
        API_SOURCE: legacy_api[::-1],  # the original feed appends: its newest end is its last
        HTML_SOURCE: legacy_html,
    }


def test_publish_adds_exactly_n_comments_at_the_newest_end(
    live: DemoSite, clock: FrozenClock, dealt: list[DemoComment]
) -> None:
    before = newest_ids(live)
    assert sum(map(len, before.values())) == len(live.published()) == len(dealt) - live.pending()
    clock.advance(minutes=5)
    fresh = live.publish(40)
    assert len(fresh) == 40 and len(live.published()) == sum(map(len, before.values())) + 40
    assert all(c.published_at == clock.now for c in fresh)
    after = newest_ids(live)
    for source, shown in after.items():
        new = [c.native_id for c in fresh if c.source == source]
        assert Counter(shown) == Counter(before[source]) + Counter(new), source
        assert set(new) == set(shown) - set(before[source])
        if source in (WEIBO_SOURCE, FEED_SOURCE):
            assert shown[: len(new)] == new[::-1], "newest first"
    for product in PRODUCTS:
        new = [c.native_id for c in fresh if c.source == SHOP_SOURCE and c.product_id == product.id]
        reviews = crawl_shop(live, product.id)
        assert [r["review_id"] for r in reviews[: len(new)]] == new[::-1], "newest first"
    new_html = [c for c in fresh if c.source == HTML_SOURCE]
    assert new_html and live.html[-len(new_html):] == new_html, "the original site appends"
    statuses = crawl_weibo(live)
    assert {s["created_at"] for s in statuses[: sum(c.source == WEIBO_SOURCE for c in fresh)]} \
        == {"刚刚"}
    where = thread_of(live)
    touched = {where[c.native_id] for c in fresh if c.source == FORUM_SOURCE}
    assert set(board_threads(live)[: len(touched)]) == touched, "active threads first"


def thread_of(site: DemoSite) -> dict[str, str]:
    """The thread each post and reply is on."""
    where = {}
    for thread in board_threads(site):
        for page in follow(site, f"/forum/thread/{thread}"):
            ids = page.css("div.post::attr(data-post-id), div.reply::attr(data-reply-id)")
            where.update(dict.fromkeys(ids.getall(), thread))
    return where


def test_since_id_finds_exactly_what_was_published(live: DemoSite) -> None:
    newest = crawl_weibo(live)[0]["id"]
    fresh = live.publish(5, source=WEIBO_SOURCE)
    assert {c.source for c in fresh} == {WEIBO_SOURCE}
    assert [s["idstr"] for s in crawl_weibo(live, since_id=str(newest))] == \
        [c.native_id for c in fresh[::-1]]


def test_publishing_runs_out(dealt: list[DemoComment]) -> None:
    site = DemoSite(dealt[:30], initial=0)
    assert site.published() == [] and site.pending() == 30
    assert len(site.publish(100)) == 30
    assert site.publish() == [] and site.pending() == 0
    assert Counter(c.example_id for c in site.published()) == \
        Counter(c.example_id for c in dealt[:30])


def test_a_timer_publishes_while_the_site_runs(dealt: list[DemoComment]) -> None:
    with DemoSite(dealt[:40], initial=10, live_interval_s=0.02, live_batch=3) as site:
        deadline = time.monotonic() + 10
        while site.pending() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert site.pending() == 0
        assert len(site.published()) == 40
        stamps = [c.published_at for c in site.published()]
        assert stamps == sorted(stamps)


# Misbehaviour.


def test_a_platform_can_fail_and_recover(site: DemoSite) -> None:
    statuses = f"{site.base_url}/m/api/statuses"
    site.fail("/m/api/", 429, retry_after_s=7)
    answer = raw(statuses)
    assert (answer.status, answer.getheader("Retry-After")) == (429, "7")
    assert raw(f"{site.base_url}/feed.xml").status == 200
    site.fail("/shop", 500)
    site.fail("/shop/api/products/p01", 403)
    assert raw(f"{site.base_url}/shop/api/products/p01/reviews").status == 403
    assert raw(f"{site.base_url}/shop/api/products/p02/reviews").status == 500
    site.recover("/shop/api/products/p01")
    assert raw(f"{site.base_url}/shop/api/products/p01/reviews").status == 500
    site.recover()
    assert raw(statuses).status == raw(f"{site.base_url}/shop/api/products").status == 200


def test_a_captcha_answers_200_without_content(site: DemoSite) -> None:
    site.captcha("/forum")
    answer = raw(f"{site.base_url}/forum/?page=2")
    assert answer.status == 302
    assert answer.getheader("Location", "").startswith("/passport/verify?next=")
    page = Selector(text=get(f"{site.base_url}/forum/?page=2"))  # urllib follows redirects
    assert page.css("form.captcha") and not page.css("li.thread")
    site.recover("/forum")
    assert Selector(text=get(f"{site.base_url}/forum/")).css("li.thread")


def test_a_redirect_loop_never_ends(site: DemoSite) -> None:
    site.redirect_loop("/feed.xml")
    first = raw(f"{site.base_url}/feed.xml")
    second = raw(site.base_url + first.getheader("Location", ""))
    third = raw(site.base_url + second.getheader("Location", ""))
    assert {first.status, second.status, third.status} == {302}
    assert first.getheader("Location") == third.getheader("Location")
    with pytest.raises(urllib.error.HTTPError):
        get(f"{site.base_url}/feed.xml")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/m/api/statuses?since_id=abc", 400),
        ("/m/api/statuses?count=0", 400),
        ("/m/api/statuses?max_id=1", 200),
        ("/shop/api/products/p01/reviews?page=0", 400),
        ("/shop/api/products/p01/reviews?page_size=51", 400),
        ("/shop/api/products/p01/reviews?page=999", 200),
        ("/shop/api/products/nope/reviews", 404),
        ("/forum/?page=999", 404),
        ("/forum/thread/nope", 404),
        ("/forum/thread/t0001?page=999", 404),
        ("/feed.xml?paged=999", 404),
        ("/feed.xml?paged=x", 400),
        ("/news/comments/nope", 404),
        ("/passport/verify", 200),
    ],
)
def test_status_codes(site: DemoSite, path: str, status: int) -> None:
    assert raw(site.base_url + path).status == status
