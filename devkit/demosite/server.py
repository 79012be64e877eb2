"""A real HTTP server for the demo site, so spiders are tested over sockets, not mocks.

It serves on 127.0.0.1 from a background thread for the life of a ``with`` block; ``yuqing
demo-site`` runs the same server in the foreground. Each platform shows only the comments whose
``source`` is its own, so a comment is on exactly one of them (the feed's two formats aside):
:func:`~devkit.demosite.comments.platform_comments` fills all six, ``demo_comments`` the first
two only, as the original site did.

=============================================  ==============  =================================
GET path                                       source          shape
=============================================  ==============  =================================
``/``, ``/products/<pid>/reviews?page=N``      demo-reviews    HTML, ``a[rel=next]`` pages
``/api/comments?cursor=C&limit=N``             demo-api        JSON, opaque ``next_cursor``
``/api/comments/<id>``                         demo-api        JSON, one comment
``/m/api/statuses?keyword=K&count=N``          demo-weibo      JSON, newest first; ``max_id``
``  &max_id=ID&since_id=ID``                                   pages back, ``since_id`` polls
``/shop/api/products``                         demo-shop       JSON, products to start from
``/shop/api/products/<pid>/reviews``           demo-shop       JSON, newest first, stars;
``  ?page=N&page_size=M``                                      a page past the end is empty
``/forum/?page=N``                             demo-forum      HTML board, active threads first
``/forum/thread/<tid>?page=N``                 demo-forum      HTML post, floors, nested replies
``/feed.xml?paged=N``, ``/feed.atom?paged=N``  demo-feed       RSS 2.0 / Atom, newest first
``/news/comments/<id>``                        demo-feed       HTML, a feed item's ``link``
``/passport/verify``                           (none)          the captcha page faults lead to
=============================================  ==============  =================================

Payloads are built in :mod:`pages` (the original two), :mod:`platforms` (Weibo, shop),
:mod:`forum` and :mod:`feed`; what is published when is :mod:`timeline`'s job.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from devkit.demosite import feed, forum, pages, platforms
from devkit.demosite.comments import (
    API_SOURCE,
    CHINA_TZ,
    FEED_SOURCE,
    FORUM_SOURCE,
    HTML_SOURCE,
    PRODUCTS,
    SHOP_SOURCE,
    WEIBO_SOURCE,
    DemoComment,
)
from devkit.demosite.timeline import Snapshot, Timeline

log = logging.getLogger(__name__)
REVIEWS_PATH = re.compile(r"/products/(?P<pid>[\w-]+)/reviews")
COMMENT_PATH = re.compile(r"/api/comments/(?P<cid>[\w-]+)")
SHOP_REVIEWS_PATH = re.compile(r"/shop/api/products/(?P<pid>[\w-]+)/reviews")
THREAD_PATH = re.compile(r"/forum/thread/(?P<tid>[\w-]+)")
NEWS_COMMENT_PATH = re.compile(r"/news/comments/(?P<cid>[\w-]+)")
VERIFY_PATH = "/passport/verify"
CAPTCHA_PAGE = pages.document("安全验证", (
    '<form class="captcha" action="/passport/verify" method="post"><p>请输入验证码</p>'
    '<img class="captcha-image" alt="验证码" src="data:,"><input name="code"></form>'))


@dataclass(frozen=True)
class Answer:
    """A whole response: faults need a status and headers, not just a body."""

    status: int
    content_type: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Fault:
    kind: str  # "status", "captcha" or "loop"
    status: int = HTTPStatus.INTERNAL_SERVER_ERROR
    retry_after_s: int | None = None


@dataclass(frozen=True)
class _View:
    """Every platform's listing for one snapshot, built once per publish, not per request."""

    snapshot: Snapshot
    html: list[DemoComment]
    api: list[DemoComment]
    by_product: dict[str, list[DemoComment]]
    api_by_id: dict[str, DemoComment]
    weibo: list[DemoComment]
    shop: dict[str, list[DemoComment]]
    threads: list[forum.Thread]
    thread_by_id: dict[str, forum.Thread]
    feed: list[DemoComment]
    feed_by_id: dict[str, DemoComment]

    @classmethod
    def build(cls, snapshot: Snapshot, placements: dict[str, forum.Placement]) -> _View:
        html = [c for c in snapshot.legacy if c.source == HTML_SOURCE]
        api = [c for c in snapshot.legacy if c.source == API_SOURCE]
        newest_first = snapshot.published[::-1]
        threads = forum.threads([c for c in snapshot.published if c.source == FORUM_SOURCE],
                                placements)
        feed_items = [c for c in newest_first if c.source == FEED_SOURCE]
        return cls(
            snapshot=snapshot, html=html, api=api,
            by_product={p.id: [c for c in html if c.product_id == p.id] for p in PRODUCTS},
            api_by_id={c.native_id: c for c in api},
            weibo=[c for c in newest_first if c.source == WEIBO_SOURCE],
            shop={p.id: [c for c in newest_first if c.source == SHOP_SOURCE
                         and c.product_id == p.id] for p in PRODUCTS},
            threads=threads, thread_by_id={t.id: t for t in threads},
            feed=feed_items, feed_by_id={c.native_id: c for c in feed_items},
        )


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        time.sleep(self.server.site.delay_s)
        answer = self.server.site.answer(url.path, query, self.path)
        data = answer.body.encode("utf-8")
        self.send_response(answer.status)
        self.send_header("Content-Type", f"{answer.content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: DemoSite, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.site = site


class DemoSite:
    """Serves ``comments``, each on the platform its ``source`` names (see the module doc).

    ``delay_s`` slows every response, so that a test can break something while a crawl is
    still running rather than race a crawl that ends in a second.

    A live site starts with only the ``initial`` oldest comments published (all when None) and
    publishes the rest, oldest first, on :meth:`publish`, and every ``live_interval_s`` seconds
    ``live_batch`` more while it runs, if set. ``clock`` (aware datetimes; default: now in
    Beijing) dates what is published after start and Weibo's relative dates; a test freezes it.
    :meth:`published` is the truth a crawl is checked against.
    """

    def __init__(self, comments: Sequence[DemoComment], port: int = 0,
                 delay_s: float = 0.0, *, initial: int | None = None,
                 live_interval_s: float | None = None, live_batch: int = 1,
                 clock: Callable[[], datetime] | None = None) -> None:
        if live_interval_s is not None and live_interval_s <= 0:
            raise ValueError(f"live_interval_s must be positive, not {live_interval_s}")
        self.port = port
        self.delay_s = delay_s
        self.live_interval_s, self.live_batch = live_interval_s, live_batch
        self.products = {p.id: p for p in PRODUCTS}
        self._clock = clock or (lambda: datetime.now(CHINA_TZ))
        self._timeline = Timeline(comments, initial, self._clock)
        self._placements = forum.place(
            [c for c in self._timeline.schedule if c.source == FORUM_SOURCE])
        self._view = _View.build(self._timeline.snapshot, self._placements)
        self._faults: dict[str, _Fault] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._publisher: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # What is published. The two original sources' lists keep their names and order.

    @property
    def html(self) -> list[DemoComment]:
        return self._view.html

    @property
    def api(self) -> list[DemoComment]:
        return self._view.api

    @property
    def by_product(self) -> dict[str, list[DemoComment]]:
        return self._view.by_product

    @property
    def api_by_id(self) -> dict[str, DemoComment]:
        return self._view.api_by_id

    def now(self) -> datetime:
        """The site's clock: what Weibo's "3分钟前" is counted back from."""
        return self._clock()

    def published(self, source: str | None = None) -> list[DemoComment]:
        """Every comment shown so far (of ``source``, if given), oldest first, dated as shown."""
        return [c for c in self._view.snapshot.published if source is None or c.source == source]

    def pending(self, source: str | None = None) -> int:
        """How many comments (of ``source``, if given) are not published yet."""
        return self._timeline.pending(source)

    def publish(self, n: int = 1, source: str | None = None) -> list[DemoComment]:
        """Publish the next ``n`` comments (of ``source`` only, if given), dated now.

        They are the newest on every platform from the moment this returns; fewer than ``n``
        come back when fewer are left.
        """
        with self._lock:
            fresh = self._timeline.publish(n, source)
            if fresh:
                self._view = _View.build(self._timeline.snapshot, self._placements)
        if fresh:
            log.info("demo site published %d comments", len(fresh))
        return fresh

    # Misbehaviour, switchable while a crawl runs; the longest matching path prefix wins.

    def fail(self, path_prefix: str, status: int = HTTPStatus.INTERNAL_SERVER_ERROR, *,
             retry_after_s: int | None = None) -> None:
        """Answer requests under ``path_prefix`` with ``status`` (e.g. 403, 429, 500, 503),
        with a ``Retry-After`` header if ``retry_after_s`` is given."""
        if not 400 <= status < 600:
            raise ValueError(f"fail() needs an error status, not {status}")
        with self._lock:
            self._faults[path_prefix] = _Fault("status", status, retry_after_s)

    def captcha(self, path_prefix: str) -> None:
        """Redirect requests under ``path_prefix`` to a captcha page that answers 200: the
        failure a crawler cannot see in the status code, only in what the page lacks."""
        with self._lock:
            self._faults[path_prefix] = _Fault("captcha")

    def redirect_loop(self, path_prefix: str) -> None:
        """Redirect requests under ``path_prefix`` back and forth between two URLs forever."""
        with self._lock:
            self._faults[path_prefix] = _Fault("loop")

    def recover(self, path_prefix: str | None = None) -> None:
        """Stop misbehaving under ``path_prefix`` (exactly as it was given), or everywhere."""
        with self._lock:
            if path_prefix is None:
                self._faults.clear()
            else:
                self._faults.pop(path_prefix, None)

    def answer(self, path: str, query: dict[str, str], target: str | None = None) -> Answer:
        """The response to a GET of ``path``; ``target`` is the request's whole path and query,
        where a redirect needs it."""
        fault = self._fault_for(path)
        if fault is not None:
            return _misbehave(fault, path, query, target or path)
        try:
            return Answer(HTTPStatus.OK, *self.route(path, query))
        except pages.NotFound as exc:
            return Answer(HTTPStatus.NOT_FOUND, "text/plain", str(exc))
        except pages.BadRequest as exc:
            return Answer(HTTPStatus.BAD_REQUEST, "text/plain", str(exc))

    def _fault_for(self, path: str) -> _Fault | None:
        if path == VERIFY_PATH:
            return None
        with self._lock:
            matching = [prefix for prefix in self._faults if path.startswith(prefix)]
            return self._faults[max(matching, key=len)] if matching else None

    def route(self, path: str, query: dict[str, str]) -> tuple[str, str]:
        """``(content type, body)`` for a GET, or :class:`pages.NotFound`/``BadRequest``."""
        view = self._view
        if path == "/robots.txt":
            return "text/plain", pages.ROBOTS_TXT
        if path == "/":
            return "text/html", pages.index_page()
        if path == "/api/comments":
            limit = _int(query.get("limit"), pages.DEFAULT_LIMIT)
            return "application/json", pages.comments_api(view.api, query.get("cursor"), limit)
        if (found := COMMENT_PATH.fullmatch(path)) and found["cid"] in view.api_by_id:
            return "application/json", pages.comment_detail(view.api_by_id[found["cid"]])
        if (found := REVIEWS_PATH.fullmatch(path)) and found["pid"] in self.products:
            product, page = self.products[found["pid"]], _int(query.get("page"), 1)
            return "text/html", pages.reviews_page(view.by_product[product.id], product, page)
        return self._route_platforms(view, path, query)

    def _route_platforms(self, view: _View, path: str, query: dict[str, str]
                         ) -> tuple[str, str]:
        if path == "/m/api/statuses":
            return "application/json", platforms.weibo_statuses(
                view.weibo, self.now(), keyword=query.get("keyword", ""),
                since_id=query.get("since_id"), max_id=query.get("max_id"),
                count=_int(query.get("count"), platforms.WEIBO_COUNT))
        if path == "/shop/api/products":
            counts = {pid: len(reviews) for pid, reviews in view.shop.items()}
            return "application/json", platforms.shop_products(PRODUCTS, counts)
        if (found := SHOP_REVIEWS_PATH.fullmatch(path)) and found["pid"] in self.products:
            return "application/json", platforms.shop_reviews(
                view.shop[found["pid"]], self.products[found["pid"]],
                page=_int(query.get("page"), 1),
                page_size=_int(query.get("page_size"), platforms.SHOP_PAGE_SIZE))
        if path in ("/forum", "/forum/"):
            return "text/html", forum.board_page(view.threads, _int(query.get("page"), 1))
        if (found := THREAD_PATH.fullmatch(path)) and found["tid"] in view.thread_by_id:
            thread = view.thread_by_id[found["tid"]]
            return "text/html", forum.thread_page(thread, _int(query.get("page"), 1))
        if path == "/feed.xml":
            page = _int(query.get("paged"), 1)
            return "application/rss+xml", feed.rss(view.feed, self.base_url, self.now(), page)
        if path == "/feed.atom":
            page = _int(query.get("paged"), 1)
            return "application/atom+xml", feed.atom(view.feed, self.base_url, self.now(), page)
        if (found := NEWS_COMMENT_PATH.fullmatch(path)) and found["cid"] in view.feed_by_id:
            return "text/html", feed.comment_page(view.feed_by_id[found["cid"]])
        if path == VERIFY_PATH:
            return "text/html", CAPTCHA_PAGE
        raise pages.NotFound(f"no page at {path}")

    def start(self) -> DemoSite:
        self._server = _Server(self, self.port)
        self.port = self._server.server_address[1]
        # A short poll interval makes stop() quick: shutdown() waits for the next poll.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        self._stopping.clear()
        if self.live_interval_s is not None:
            self._publisher = threading.Thread(target=self._publish_every_interval, daemon=True)
            self._publisher.start()
        log.info("demo site on %s: %d comments published, %d to come", self.base_url,
                 len(self._view.snapshot.published), self.pending())
        return self

    def _publish_every_interval(self) -> None:
        assert self.live_interval_s is not None
        while not self._stopping.wait(self.live_interval_s):
            if not self.publish(self.live_batch):
                return

    def stop(self) -> None:
        self._stopping.set()
        if self._publisher is not None:
            self._publisher.join(timeout=5)
            self._publisher = None
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _misbehave(fault: _Fault, path: str, query: dict[str, str], target: str) -> Answer:
    if fault.kind == "captcha":
        location = f"{VERIFY_PATH}?{urlencode({'next': target})}"
        return Answer(HTTPStatus.FOUND, "text/plain", "", {"Location": location})
    if fault.kind == "loop":
        hop = "b" if query.get("loop") != "b" else "a"
        return Answer(HTTPStatus.FOUND, "text/plain", "",
                      {"Location": f"{quote(path)}?loop={hop}"})
    headers = {} if fault.retry_after_s is None else {"Retry-After": str(fault.retry_after_s)}
    try:
        phrase = HTTPStatus(fault.status).phrase
    except ValueError:
        phrase = "error"
    return Answer(fault.status, "text/plain", f"{fault.status} {phrase}", headers)


def _int(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise pages.BadRequest(f"not an integer: {value!r}") from None
