"""The generic spider: one site profile (:mod:`crawlers.profiles`) crawled into comment items.

One spider class covers the three shapes sources come in, so adding a source is writing a profile:
HTML listings (CSS or XPath per field, next-page links or numbered pages), JSON APIs (JMESPath per
field, page, offset or cursor paging) and RSS/Atom feeds (feedparser reads every dialect). Dates
are read here, in the profile's time zone and relative to the crawl (``3分钟前``, ``昨天 12:30``),
because only the crawler knows when and where the page said them; a date it cannot read keeps
the comment, without a date, and is counted and logged with the text it could not read.

What the crawl has seen and where its paging got to (:mod:`crawlers.seen`,
:mod:`crawlers.frontier`) are saved to the store every :data:`SAVE_INTERVAL_S` seconds as Kafka
acknowledges comments, and when the spider closes: a crawl killed halfway costs the next one at
most the comments acknowledged in its last second, sent again.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import feedparser
import jmespath
from parsel import Selector
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twisted.internet.task import LoopingCall
from w3lib.url import add_or_replace_parameter

from crawlers.dates import parse_published
from crawlers.frontier import Frontier, ResumePoint, points_to_resume
from crawlers.items import CommentItem
from crawlers.pipelines import comment_delivered, item_payload
from crawlers.profiles import Kind, Profile, load_profile
from crawlers.seen import Seen, SeenComments
from pipeline.config import Settings
from pipeline.records import make_id
from pipeline.store.crawls import crawl_newest, crawl_resume, crawl_seen, save_crawl_state
from pipeline.store.engine import make_engine

log = logging.getLogger(__name__)

# Stats keys; crawlers.run reads them back.
DATE_PROBLEMS = "yuqing/date_problems"
EMPTY_PAGES = "yuqing/empty_pages"
NEW_ITEMS = "yuqing/new_items"
EDITED_ITEMS = "yuqing/edited_items"
KNOWN_ITEMS = "yuqing/known_items"
BAN_PAGES = "yuqing/ban_pages"
RESUMED_PAGES = "yuqing/resumed_pages"
_SEEN_STATS = {Seen.NEW: NEW_ITEMS, Seen.EDITED: EDITED_ITEMS, Seen.KNOWN: KNOWN_ITEMS}
SAVE_INTERVAL_S = 1.0


class ProfileSpider(Spider):
    """Crawls what one profile describes; ``profile`` is the profile or its file's path."""

    name = "profile"
    # Set in from_crawler, which has the operator's settings.
    seen: SeenComments
    frontier: Frontier
    newest: dict[str, str]  # start URL → its newest comment delivered (paging.since_param)
    _store: Engine
    _resume: list[ResumePoint]

    def __init__(self, profile: Profile | str | Path, **kwargs: Any) -> None:
        loaded = profile if isinstance(profile, Profile) else load_profile(Path(profile))
        super().__init__(name=loaded.id, **kwargs)
        self.profile = loaded
        self.crawled_at = datetime.now(UTC)
        self._acknowledged: deque[str] = deque()  # appended on the producer's thread
        self._saved_points: list[ResumePoint] = []
        self._start_of: dict[str, str] = {}  # a chain's first URL → the start URL it came from
        self._saver: LoopingCall | None = None  # made once the crawl has installed its reactor

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # The profile's politeness; the crawler's settings are not frozen until the spider
        # exists, and they are this spider's own.
        politeness = spider.profile.politeness
        crawler.settings.setdict({
            "DOWNLOAD_DELAY": politeness.delay_s,
            # AutoThrottle's own start (5 s) would slow the first pages of every crawl.
            "AUTOTHROTTLE_START_DELAY": politeness.delay_s,
            "CONCURRENT_REQUESTS_PER_DOMAIN": politeness.concurrency,
            "ROBOTSTXT_OBEY": politeness.robots_txt,
        }, priority="spider")
        settings: Settings = crawler.settings["YUQING_SETTINGS"]
        spider._store = make_engine(settings.database_url)
        profile = spider.profile
        with Session(spider._store) as session:
            spider.seen = SeenComments(crawl_seen(session, profile.id),
                                       profile.new_items.seen_ids)
            spider._resume = points_to_resume(crawl_resume(session, profile.id),
                                              set(profile.urls()), profile.id)
            spider.newest = crawl_newest(session, profile.id)
        spider.frontier = Frontier()
        for point in spider._resume:  # kept by every save until the crawl reaches them
            spider.frontier.requested(spider._resumed_chain(point), point)
        crawler.signals.connect(spider._delivered, signal=comment_delivered)
        crawler.signals.connect(spider._dropped, signal=signals.request_dropped)
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    def _delivered(self, comment_id: str) -> None:
        """On the producer's thread: only queued, for :meth:`_save` on the reactor's."""
        self._acknowledged.append(comment_id)

    def _opened(self) -> None:
        self._saver = LoopingCall(self._save)
        self._saver.start(SAVE_INTERVAL_S, now=False)

    def _closed(self) -> None:
        """The final save: the item pipelines have flushed to Kafka by the time the spider
        closes, so every acknowledgement has arrived."""
        if self._saver is not None and self._saver.running:
            self._saver.stop()
        try:
            self._save()
        finally:
            self._store.dispose()

    def _save(self) -> None:
        """Takes in the acknowledgements that arrived, and saves what changed."""
        while self._acknowledged:
            comment_id = self._acknowledged.popleft()
            self.seen.confirm(comment_id)
            self.frontier.confirmed(comment_id)
        points = self.frontier.resume_points()
        newest = self.newest | {self._start_of[first]: native_id
                                for first, native_id in self.frontier.newest.items()}
        if not self.seen.changed and points == self._saved_points and newest == self.newest:
            return
        try:
            with Session(self._store) as session, session.begin():
                save_crawl_state(session, self.profile.id, self.seen.kept(),
                                 [point.to_json() for point in points], newest)
        except SQLAlchemyError as error:  # the next save tries again; the crawl goes on
            log.warning("%s: could not save the crawl state (%s); the next crawl may send "
                        "again what this one sent since the last save", self.profile.id,
                        str(error).splitlines()[0])
            return
        self.seen.changed, self._saved_points, self.newest = False, points, newest

    def _dropped(self, request: Request) -> None:
        if "chain" in request.cb_kwargs:
            self.frontier.dropped(request.cb_kwargs["chain"], request.cb_kwargs["page"])

    async def start(self) -> AsyncIterator[Request]:
        for url in self.profile.urls():
            if self.profile.listing:
                yield Request(url, headers=self._headers(), cookies=self._cookies(),
                              callback=self.parse_listing, cb_kwargs={"page": 0})
            else:
                first_url = self._since(url)
                self._start_of[first_url] = url
                yield self._request(self._sized(first_url), page=0, first_url=first_url)
        for point in self._resume:
            log.info("%s: resuming at page %d of %s, where an earlier crawl stopped",
                     self.profile.id, point.page, point.first_url)
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(RESUMED_PAGES)
            yield self._request(point.url, point.page, point.first_url,
                                chain=self._resumed_chain(point), tries=point.tries)

    def _since(self, url: str) -> str:
        """``url`` asking only for what is newer than its newest comment delivered, where the
        API takes that (``paging.since_param``). The chain's later pages keep this value: a
        crawl resumed after the newest moved on still reads what lies between."""
        since_param = self.profile.paging.since_param
        if since_param is None or url not in self.newest:
            return url
        return add_or_replace_parameter(url, since_param, self.newest[url])

    @staticmethod
    def _resumed_chain(point: ResumePoint) -> str:
        return f"{point.first_url} (resumed at page {point.page})"

    def parse_listing(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        """An index page: each linked page is crawled as a start page, then the next index
        page (Scrapy's duplicate filter drops links already followed)."""
        listing, page = self.profile.listing, kwargs["page"]
        assert listing is not None and isinstance(response, TextResponse)
        if self._walled(response):
            return
        for link in self._select(response, listing.links).getall():
            url = response.urljoin(link)
            yield self._request(self._sized(url), page=0, first_url=url)
        following = self._select(response, listing.next).get() if listing.next else None
        if following and page + 1 < listing.max_pages:
            yield Request(response.urljoin(following), headers=self._headers(),
                          cookies=self._cookies(), callback=self.parse_listing,
                          cb_kwargs={"page": page + 1})

    def _sized(self, url: str) -> str:
        """``url`` asking for the profile's page size, where the API takes one."""
        size_param = self.profile.paging.size_param
        return (add_or_replace_parameter(url, size_param, str(self.profile.paging.size))
                if size_param else url)

    def _headers(self) -> dict[str, str]:
        """The profile's headers, secrets read now so that a rotated one is picked up."""
        return {**self.profile.headers,
                **{name: secret.read() for name, secret in self.profile.secret_headers.items()}}

    def _cookies(self) -> dict[str, str]:
        return {name: secret.read() for name, secret in self.profile.cookies.items()}

    def _request(self, url: str, page: int, first_url: str, chain: str | None = None,
                 tries: int = 0) -> Request:
        """A page of the paging chain ``chain`` (by default, the one ``first_url`` starts)."""
        chain = chain or first_url
        self.frontier.requested(chain, ResumePoint(url, page, first_url, tries))
        return Request(url, headers=self._headers(), cookies=self._cookies(),
                       callback=self.parse,
                       cb_kwargs={"page": page, "first_url": first_url, "chain": chain})

    def parse(self, response: Response, **kwargs: Any) -> Iterator[CommentItem | Request]:
        page, first_url, chain = kwargs["page"], kwargs["first_url"], kwargs["chain"]
        if isinstance(response, TextResponse) and self._walled(response):
            return
        if self.profile.kind is Kind.RSS:
            fresh = self._fresh(self._feed_items(response))
            self._parsed(chain, page, fresh)
            yield from fresh
            return
        if not isinstance(response, TextResponse):
            raise ValueError(f"{response.url}: not a text response "
                             f"({response.headers.get('Content-Type')!r})")
        document: Any = response.json() if self.profile.kind is Kind.JSON else response
        found = [self._item(response, node) for node in self._nodes(document)]
        fresh = self._fresh(found)
        newest = (found[0].native_id if page == 0 and found and first_url in self._start_of
                  and self.profile.paging.since_param else None)
        self._parsed(chain, page, fresh, newest)
        yield from fresh
        assert self.crawler.stats is not None
        if not found:
            self.crawler.stats.inc_value(EMPTY_PAGES)
        # A page of known comments past the re-crawl pages ends the paging: what follows is
        # older still, and was seen before.
        reached_known = (found and not fresh and self.profile.new_items.stop_at_known
                         and page + 1 >= self.profile.new_items.recrawl_pages)
        if not reached_known and (
                following := self._next_url(response, document, page, first_url, bool(found))):
            yield self._request(following, page + 1, first_url, chain)

    def _parsed(self, chain: str, page: int, fresh: list[CommentItem],
                newest: str | None = None) -> None:
        """The page is done once Kafka acknowledged each comment it sends (an item without an
        id becomes a dead letter without one, and is not waited for); only then does its
        ``newest`` comment become the start URL's ``since`` value."""
        ids = {comment_id for item in fresh if (comment_id := item_payload(item)["id"])}
        self.frontier.parsed(chain, page, ids, newest)

    def _fresh(self, items: list[CommentItem]) -> list[CommentItem]:
        """The new and edited comments among ``items``; every one is counted."""
        assert self.crawler.stats is not None
        fresh = []
        for item in items:
            native_id = item.native_id or None
            status = self.seen.check(make_id(self.profile.id, native_id, item.text), item.text)
            self.crawler.stats.inc_value(_SEEN_STATS[status])
            if status is not Seen.KNOWN:
                fresh.append(item)
        return fresh

    def _walled(self, response: TextResponse) -> bool:
        """A captcha or login page served in place of the content (often with status 200): no
        comments to read, and a suspected ban to count."""
        pattern = next((p for p in self.profile.ban.body_patterns if p in response.text), None)
        if pattern is None:
            return False
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(BAN_PAGES)
        log.warning("%s: %s looks like a ban (it says %r); nothing read from it", self.profile.id,
                    response.url, pattern)
        return True

    def _nodes(self, document: Any) -> list[Any]:
        items = self.profile.fields.items or ""
        if self.profile.kind is Kind.JSON:
            found = jmespath.search(items, document)
            return found if isinstance(found, list) else []
        return list(self._select(document, items))

    def _select(self, node: Selector | TextResponse, expression: str) -> Any:
        return node.css(expression) if self.profile.selectors == "css" else node.xpath(expression)

    def _field(self, node: Any, name: str) -> str | None:
        expression = getattr(self.profile.fields, name)
        if expression is None:
            return None
        if self.profile.kind is Kind.JSON:
            value = jmespath.search(expression, node)
            return None if value is None or isinstance(value, dict | list) else str(value)
        # HTML text may be split across child elements: a comment's text is all of it.
        parts = self._select(node, expression).getall()
        joined = ("".join(parts) if name == "text" else (parts[0] if parts else "")).strip()
        return joined or None

    def _item(self, response: TextResponse, node: Any) -> CommentItem:
        url = self._field(node, "url")
        return CommentItem(
            source=self.profile.id,
            url=response.urljoin(url) if url else response.url,
            text=self._field(node, "text"),
            native_id=self._field(node, "native_id"),
            author=self._field(node, "author"),
            published_at=self._published(self._field(node, "published_at"), response.url),
        )

    def _feed_items(self, response: Response) -> list[CommentItem]:
        feed = feedparser.parse(response.body)
        if feed.bozo and not feed.entries:
            raise ValueError(f"{response.url}: not a feed: {feed.bozo_exception}")
        items = []
        for entry in feed.entries:
            text = entry.get(self.profile.fields.text or "summary") or entry.get("title")
            items.append(CommentItem(
                source=self.profile.id,
                url=entry.get("link") or response.url,
                text=text,
                native_id=entry.get("id") or entry.get("link"),
                author=entry.get("author"),
                published_at=self._published(entry.get("published") or entry.get("updated"),
                                             response.url),
            ))
        return items

    def _published(self, raw: str | None, url: str) -> str | None:
        parsed = parse_published(raw, self.crawled_at, self.profile.zone)
        if parsed.problem:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(DATE_PROBLEMS)
            log.warning("%s: %s (%s); the comment is kept without a date", self.profile.id,
                        parsed.problem, url)
        return parsed.value.isoformat() if parsed.value else None

    def _next_url(self, response: TextResponse, document: Any, page: int, first_url: str,
                  had_items: bool) -> str | None:
        paging = self.profile.paging
        if paging.kind == "none" or page + 1 >= paging.max_pages:
            return None
        if paging.kind == "next_link":
            link = self._select(document, paging.next or "").get()
            return response.urljoin(link) if link else None
        if not had_items:
            return None
        param = paging.param or ""
        if paging.kind == "cursor":
            cursor = (jmespath.search(paging.next or "", document)
                      if self.profile.kind is Kind.JSON
                      else self._select(document, paging.next or "").get())
            following = add_or_replace_parameter(first_url, param, str(cursor))
            return self._sized(following) if cursor else None
        number = paging.start + page + 1 if paging.kind == "page" else (page + 1) * paging.size
        return self._sized(add_or_replace_parameter(first_url, param, str(number)))
