"""Per-spider accounting of the pages a spider asked for and never got to parse.

Scrapy loses pages quietly: the redirect middleware gives up on a loop with an ``IgnoreRequest``
logged at DEBUG, the HttpError middleware drops the 503 the retry middleware gave up on, and the
dupefilter drops a request whose URL it has seen, harmless when that URL was parsed and a loss
when it was not (a redirect back into its own chain). A crawl that lost pages must not report
success, and only one spider's losses may fail that spider: everything here goes through the
crawler's own signals and stats, never Scrapy's ``log_count/*``, whose log handler counts every
spider's records in the process.
"""

from __future__ import annotations

from collections import Counter
from typing import Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK

LOST = "yuqing/pages_lost"
"""Stats key: pages never parsed; ``LOST/<reason>`` counts them by reason."""
ITEM_ERRORS = "yuqing/item_errors"
"""Stats key: exceptions from item pipelines (Scrapy counts only the spider's own exceptions)."""

REDIRECT_LOOP = "stuck in a redirect loop"


class PageLedger:
    """Follows every page from the downloader to a callback; those that never arrive are lost.

    A page is a chain of requests: retries keep its URL and redirects list the URLs before them
    in ``redirect_urls``, so the chain's first URL names it. A chain still open when the spider
    closes ended where no signal reaches (an ``IgnoreRequest`` raised by a downloader middleware's
    ``process_response``, a response the HttpError middleware dropped), and the request it ended
    on says why. Duplicates are judged only at the close, once it is known whether their URL was
    parsed. The totals go to the stats as ``LOST`` and ``LOST/<reason>``.
    """

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None, "crawler has no stats collector"
        self.stats = crawler.stats
        self.fingerprint = crawler.request_fingerprinter.fingerprint
        self.max_redirects = crawler.settings.getint("REDIRECT_MAX_TIMES")
        self.open: dict[bytes, Request] = {}  # page → the last request of its chain
        self.statuses: dict[bytes, int] = {}  # page → status of the response that ended its chain
        self.parsed: set[bytes] = set()  # every URL of every chain that reached a callback
        self.settled: set[bytes] = set()  # parsed, refused on purpose, or counted lost
        self.duplicates: set[bytes] = set()
        self.redirected_to_seen: list[tuple[list[bytes], bytes]] = []  # (chain, its target)
        self.lost: Counter[str] = Counter()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ledger = cls(crawler)
        crawler.signals.connect(ledger.request_reached_downloader,
                                signal=signals.request_reached_downloader)
        crawler.signals.connect(ledger.response_received, signal=signals.response_received)
        crawler.signals.connect(ledger.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(ledger.item_error, signal=signals.item_error)
        crawler.signals.connect(ledger.spider_closed, signal=signals.spider_closed)
        return ledger

    def request_reached_downloader(self, request: Request) -> None:
        if _for_spider(request):
            self.open[self._page(request)] = request

    def response_received(self, response: Response, request: Request) -> None:
        if (page := self._page(request)) in self.open:
            self.statuses[page] = response.status

    def request_dropped(self, request: Request) -> None:
        if "redirect_urls" in request.meta:  # a redirect to a URL already requested ends a chain
            *chain, target = self._chain(request)
            self.open.pop(chain[0], None)
            self.redirected_to_seen.append((chain, target))
        else:
            self.duplicates.add(self.fingerprint(request))

    def item_error(self) -> None:
        self.stats.inc_value(ITEM_ERRORS)

    def reached_spider(self, request: Request) -> None:
        chain = self._chain(request)
        self.open.pop(chain[0], None)
        self.parsed.update(chain)
        self.settled.update(chain)

    def download_failed(self, request: Request, exception: Exception) -> None:
        if not _for_spider(request):
            return
        chain = self._chain(request)
        self.open.pop(chain[0], None)
        if isinstance(exception, IgnoreRequest):  # refused on purpose: robots.txt, offsite
            self.settled.update(chain)
        else:
            name = type(exception).__name__
            self._lose(_after_retries(request, name, f"failed to download ({name})"), chain)

    def spider_closed(self, reason: str) -> None:
        for page, request in self.open.items():
            self._lose(self._why_unanswered(request, self.statuses.get(page), reason),
                       self._chain(request))
        for chain, target in self.redirected_to_seen:
            if target in self.parsed:
                self.settled.update(chain)
            else:
                self._lose(REDIRECT_LOOP if target in chain else
                           "redirected to a page never parsed", chain)
        for fingerprint in self.duplicates - self.settled:
            self._lose("dropped as a duplicate, never parsed", [fingerprint])
        self.stats.set_value(LOST, self.lost.total())
        for why, count in self.lost.items():
            self.stats.set_value(f"{LOST}/{why}", count)

    def _why_unanswered(self, request: Request, status: int | None, finish_reason: str) -> str:
        """Why a chain still open at the close never reached a callback, from where it stopped."""
        if status is not None and not 200 <= status < 300:
            return _after_retries(request, f"HTTP {status}", f"answered HTTP {status}")
        if finish_reason != "finished":
            return "unfetched when the spider stopped"
        if request.meta.get("redirect_times", 0) >= self.max_redirects:
            return REDIRECT_LOOP  # the redirect middleware gave up, and no signal says so
        return "dropped before reaching the spider"

    def _lose(self, reason: str, chain: list[bytes]) -> None:
        self.lost[reason] += 1
        self.settled.update(chain)

    def _page(self, request: Request) -> bytes:
        if first := request.meta.get("redirect_urls"):
            return self.fingerprint(request.replace(url=first[0]))
        return self.fingerprint(request)

    def _chain(self, request: Request) -> list[bytes]:
        """Fingerprints of the URLs the page was requested under, first to last."""
        earlier = request.meta.get("redirect_urls", ())
        return [*(self.fingerprint(request.replace(url=url)) for url in earlier),
                self.fingerprint(request)]


class PageLedgerMiddleware:
    """Tells the :class:`PageLedger` what only a middleware sees, at both ends of a request.

    As the outermost downloader middleware its ``process_exception`` sees the exception that
    ends a request once the retry middleware has given up; as the innermost spider middleware its
    ``process_spider_input`` sees exactly the responses that reach a callback, after the HttpError
    middleware has dropped the statuses the spider does not handle.
    """

    def __init__(self, ledger: PageLedger) -> None:
        self.ledger = ledger

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if (ledger := crawler.get_extension(PageLedger)) is None:
            raise NotConfigured("the PageLedger extension is not enabled")
        return cls(ledger)

    def process_exception(self, request: Request, exception: Exception) -> None:
        self.ledger.download_failed(request, exception)

    def process_spider_input(self, response: Response) -> None:
        assert response.request is not None, "the engine sets every response's request"
        self.ledger.reached_spider(response.request)


def _for_spider(request: Request) -> bool:
    """False for downloads no callback will see, such as robots.txt (Scrapy's own marker)."""
    return request.callback is not NO_CALLBACK


def _after_retries(request: Request, failure: str, otherwise: str) -> str:
    retries = request.meta.get("retry_times", 0)
    if not retries:
        return otherwise
    return f"gave up after {retries} {'retry' if retries == 1 else 'retries'} ({failure})"
