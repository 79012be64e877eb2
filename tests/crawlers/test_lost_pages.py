"""Pages a spider never got to parse fail that spider, and only that spider.

The odd site is served here rather than by the demo site: it has the demo site's markup (see
``devkit/demosite/pages.py``) with the faults real sites have, a redirect loop, an endless
redirect chain, a page that is always busy, one that is gone, a host that refuses connections,
and a "next page" link that points back to page 1. Its feed is healthy, so ``demo_api`` crawls
it in the same run as a spider that should stay ``ok``.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from pipeline.broker import free_port
from pipeline.config import Settings
from tests.crawlers.command import yuqing

pytestmark = pytest.mark.integration

GOOD = "/products/good/reviews"
LOOP = "/products/loop/reviews"
SPIRAL = "/products/spiral/reviews"
BUSY = "/products/busy/reviews"
GONE = "/products/gone/reviews"
FEED = {"comments": [{"id": "a1", "user": {"nickname": "阿明"}, "content": "物流很快，包装完好",
                      "created_at": 1_709_258_400}], "next_cursor": None}


def reviews_page(native_id: str, text: str, next_href: str) -> str:
    return (
        f'<html><body><ul class="reviews"><li class="review" data-review-id="{native_id}">'
        '<span class="author">小红</span> <time datetime="2024-03-01T10:00:00+08:00">'
        f'2024-03-01 10:00</time><p class="content">{text}</p></li></ul>'
        f'<nav class="pager"><a rel="next" href="{next_href}">下一页</a></nav></body></html>'
    )


def answer(path: str, query: dict[str, str], links: list[str]) -> tuple[int, str, str]:
    """``(status, Location or content type, body)`` for a GET; anything unknown is a 404."""
    if path == "/":
        items = "".join(f'<li class="product"><a href="{href}">商品</a></li>' for href in links)
        return 200, "text/html", f'<html><body><ul class="products">{items}</ul></body></html>'
    if path == GOOD:  # page 2 links "next" back to page 1: a duplicate, but a parsed one
        if query.get("page") == "2":
            return 200, "text/html", reviews_page("g2", "音质不错，就是有点贵", GOOD)
        return 200, "text/html", reviews_page("g1", "房间干净，早餐丰富", f"{GOOD}?page=2")
    if path == LOOP:  # A → B → A: the dupefilter drops the way back
        return 302, f"{LOOP}?via=b" if "via" not in query else LOOP, ""
    if path == SPIRAL:  # new URLs forever: the redirect middleware gives up
        return 302, f"{SPIRAL}?hop={int(query['hop']) + 1}", ""
    if path == BUSY:
        return 503, "text/plain", "busy"
    if path == "/api/comments":
        return 200, "application/json", json.dumps(FEED, ensure_ascii=False)
    return 404, "text/plain", "not found"


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, *args: object, links: list[str], served: list[str]) -> None:
        self.links, self.served = links, served
        super().__init__(*args)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        self.served.append(self.path)
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        status, kind, body = answer(url.path, query, self.links)
        data = body.encode("utf-8")
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", kind)
        else:
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # pytest shows the crawl's own output on failure; the server's would drown it


@contextmanager
def odd_site(links: list[str]) -> Iterator[tuple[str, list[str]]]:
    """The site's root URL and the paths it was asked for, while it serves on loopback."""
    served: list[str] = []
    handler = functools.partial(_Handler, links=links, served=served)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_lost_pages_fail_their_spider_and_name_why_while_a_healthy_one_stays_ok(
    settings: Settings,
) -> None:
    refused = f"http://127.0.0.1:{free_port()}{GOOD}"
    with odd_site([GOOD, LOOP, f"{SPIRAL}?hop=0", BUSY, GONE, refused]) as (base_url, served):
        done = yuqing(settings, "crawl", "demo_reviews", "demo_api", "--base-url", base_url)
    assert done.returncode == 1, done.stderr[-3000:]
    summary = json.loads(done.stdout)

    reviews = summary["demo_reviews"]
    assert reviews["reasons"] == {
        "stuck in a redirect loop": 2,
        "gave up after 3 retries (HTTP 503)": 1,
        "gave up after 3 retries (DownloadConnectionRefusedError)": 1,
        "answered HTTP 404": 1,
    }
    assert (reviews["failed_requests"], reviews["ok"], reviews["errors"]) == (5, False, 0)
    assert reviews["produced"] == 2, "the healthy product is still crawled"
    assert served.count(BUSY) == 4, "one request and three retries"
    problems = [line for line in done.stderr.splitlines() if line.startswith("yuqing: ")]
    assert problems == [
        "yuqing: demo_reviews: 5 pages never fetched: 2 stuck in a redirect loop, 1 answered "
        "HTTP 404, 1 gave up after 3 retries (DownloadConnectionRefusedError), 1 gave up after "
        "3 retries (HTTP 503)"
    ]

    api = summary["demo_api"]  # the other spider's logged errors are not its own
    assert (api["ok"], api["errors"], api["failed_requests"], api["produced"]) == (True, 0, 0, 1)


def test_a_link_back_to_a_parsed_page_is_no_loss(settings: Settings) -> None:
    with odd_site([GOOD]) as (base_url, served):
        done = yuqing(settings, "crawl", "demo_reviews", "--base-url", base_url)
    assert done.returncode == 0, done.stderr[-3000:]
    reviews = json.loads(done.stdout)["demo_reviews"]
    assert (reviews["ok"], reviews["failed_requests"], reviews["produced"]) == (True, 0, 2)
    assert f"{GOOD}?page=2" in served and served.count(GOOD) == 1, "page 2's link was filtered"
