"""A real HTTP server for the demo site, so spiders are tested over sockets, not mocks.

It serves on 127.0.0.1 from a background thread for the life of a ``with`` block; ``yuqing
demo-site`` runs the same server in the foreground.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from devkit.demosite import pages
from devkit.demosite.comments import API_SOURCE, HTML_SOURCE, PRODUCTS, DemoComment

log = logging.getLogger(__name__)
REVIEWS_PATH = re.compile(r"/products/(?P<pid>[\w-]+)/reviews")
COMMENT_PATH = re.compile(r"/api/comments/(?P<cid>[\w-]+)")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        time.sleep(self.server.site.delay_s)
        try:
            status, content_type, body = HTTPStatus.OK, *self.server.site.route(url.path, query)
        except pages.NotFound as exc:
            status, content_type, body = HTTPStatus.NOT_FOUND, "text/plain", str(exc)
        except pages.BadRequest as exc:
            status, content_type, body = HTTPStatus.BAD_REQUEST, "text/plain", str(exc)
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
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
    """Serves ``comments``: HTML review pages for one source, a cursor API for the other.

    ``delay_s`` slows every response, so that a test can break something while a crawl is
    still running rather than race a crawl that ends in a second.
    """

    def __init__(self, comments: Sequence[DemoComment], port: int = 0,
                 delay_s: float = 0.0) -> None:
        self.port = port
        self.delay_s = delay_s
        self.html = [c for c in comments if c.source == HTML_SOURCE]
        self.api = [c for c in comments if c.source == API_SOURCE]
        self.products = {p.id: p for p in PRODUCTS}
        self.by_product = {
            pid: [c for c in self.html if c.product_id == pid] for pid in self.products
        }
        self.api_by_id = {c.native_id: c for c in self.api}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, path: str, query: dict[str, str]) -> tuple[str, str]:
        """``(content type, body)`` for a GET, or :class:`pages.NotFound`/``BadRequest``."""
        if path == "/robots.txt":
            return "text/plain", pages.ROBOTS_TXT
        if path == "/":
            return "text/html", pages.index_page()
        if path == "/api/comments":
            limit = _int(query.get("limit"), pages.DEFAULT_LIMIT)
            return "application/json", pages.comments_api(self.api, query.get("cursor"), limit)
        if (found := COMMENT_PATH.fullmatch(path)) and found["cid"] in self.api_by_id:
            return "application/json", pages.comment_detail(self.api_by_id[found["cid"]])
        if (found := REVIEWS_PATH.fullmatch(path)) and found["pid"] in self.products:
            product, page = self.products[found["pid"]], _int(query.get("page"), 1)
            return "text/html", pages.reviews_page(self.by_product[product.id], product, page)
        raise pages.NotFound(f"no page at {path}")

    def start(self) -> DemoSite:
        self._server = _Server(self, self.port)
        self.port = self._server.server_address[1]
        # A short poll interval makes stop() quick: shutdown() waits for the next poll.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        log.info("demo site on %s: %d comments", self.base_url, len(self.html) + len(self.api))
        return self

    def stop(self) -> None:
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


def _int(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise pages.BadRequest(f"not an integer: {value!r}") from None
