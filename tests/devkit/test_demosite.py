"""The demo site serves every real test-split comment exactly once, through either source."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter

import pytest
from parsel import Selector

from devkit.demosite.comments import API_SOURCE, HTML_SOURCE, PRODUCTS, DemoComment, demo_comments
from devkit.demosite.pages import reviews_page
from devkit.demosite.server import DemoSite
from models.data import load_examples


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode("utf-8")


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_comments_are_the_test_split_dealt_deterministically(comments: list[DemoComment]) -> None:
    test_texts = {example.text: example.id for example in load_examples("test")}
    assert {c.text: c.example_id for c in comments} == test_texts
    assert not {c.text for c in comments} & {e.text for e in load_examples("train")}
    assert len({c.record_id for c in comments}) == len(comments)
    assert {c.source for c in comments} == {HTML_SOURCE, API_SOURCE}
    assert demo_comments(25) == comments[:25]


def test_html_pages_show_every_comment_once(demo_site: DemoSite) -> None:
    seen: Counter[str] = Counter()
    for product in PRODUCTS:
        url: str | None = f"{demo_site.base_url}/products/{product.id}/reviews"
        while url:
            page = Selector(text=get(url))
            for review in page.css("li.review"):
                native_id = review.attrib["data-review-id"]
                seen[native_id] += 1
                assert review.css("p.content::text").get() == demo_site_text(demo_site, native_id)
            next_href = page.css('a[rel="next"]::attr(href)').get()
            url = f"{demo_site.base_url}{next_href}" if next_href else None
    assert seen == Counter(c.native_id for c in demo_site.html)


def demo_site_text(site: DemoSite, native_id: str) -> str:
    return next(c.text for c in site.html if c.native_id == native_id)


def test_cursor_api_returns_every_comment_once(demo_site: DemoSite) -> None:
    seen: Counter[str] = Counter()
    cursor: str | None = ""
    while cursor is not None:
        page = json.loads(get(f"{demo_site.base_url}/api/comments?limit=7&cursor={cursor}"))
        assert len(page["comments"]) <= 7
        seen.update(comment["id"] for comment in page["comments"])
        cursor = page["next_cursor"]
    assert seen == Counter(c.native_id for c in demo_site.api)
    first = demo_site.api[0]
    detail = json.loads(get(f"{demo_site.base_url}/api/comments/{first.native_id}"))
    assert detail["content"] == first.text
    assert detail["created_at"] == first.published_at.timestamp()


def test_markup_in_real_reviews_is_escaped(comments: list[DemoComment]) -> None:
    tricky = [c for c in comments if c.source == HTML_SOURCE and set(c.text) & set("<>&\"'")]
    assert tricky, "the test split has reviews with <, > or & in them"
    for comment in tricky:
        page = Selector(text=reviews_page([comment], PRODUCTS[0], 1))
        assert page.css("li.review p.content::text").getall() == [comment.text]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/robots.txt", 200),
        ("/admin/", 404),
        ("/products/p01/reviews?page=999", 404),
        ("/products/nope/reviews", 404),
        ("/products/p01/reviews?page=x", 400),
        ("/api/comments?cursor=bm90LWEtY3Vyc29y", 400),
        ("/api/comments?limit=0", 400),
        ("/api/comments/nope", 404),
    ],
)
def test_status_codes(demo_site: DemoSite, path: str, status: int) -> None:
    assert status_of(demo_site.base_url + path) == status
