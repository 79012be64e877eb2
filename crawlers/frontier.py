"""Where a profile's paging got to, so that a crawl stopped halfway is resumed by the next one.

An incremental crawl stops paging at the first page of known comments. After a crawl killed on
page 5 of 40, the next crawl would find pages 1 to 4 known and stop there: pages 6 to 40 would
never be read. So each paging chain (a start URL followed page by page) keeps its pages in
order, and a page is done once it is parsed and every new comment on it was acknowledged by
Kafka. The first page of a chain that is not done is its *resume point*; the crawl state keeps
those (saved as the crawl goes, see :class:`crawlers.spiders.profile.ProfileSpider`), and the
next crawl requests them besides the start URLs. A chain that ran to its end leaves none.

A page that keeps failing (a 404, a ban) would be retried by every crawl; a resume point is
given up after :data:`MAX_TRIES` crawls, with a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

MAX_TRIES = 3


@dataclass(frozen=True)
class ResumePoint:
    """A page to crawl again: its URL, its number in the chain, and the chain's start URL
    (the paging parameters are added to it)."""

    url: str
    page: int
    first_url: str
    tries: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResumePoint:
        return cls(url=str(data["url"]), page=int(data["page"]),
                   first_url=str(data["first_url"]), tries=int(data.get("tries", 0)))

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "page": self.page, "first_url": self.first_url,
                "tries": self.tries}


@dataclass
class _Page:
    point: ResumePoint
    waiting: set[str] | None = None  # comment ids not yet acknowledged; None until parsed
    newest: str | None = None  # the native id of the newest comment on a chain's first page

    @property
    def done(self) -> bool:
        return self.waiting is not None and not self.waiting


@dataclass
class Frontier:
    """The pages of one crawl's chains, by chain name (the start URL, or a resumed point's)."""

    _chains: dict[str, dict[int, _Page]] = field(default_factory=dict)
    _pages_of: dict[str, list[_Page]] = field(default_factory=dict)  # comment id → its pages
    newest: dict[str, str] = field(default_factory=dict)
    """Start URL → its newest comment's native id, once that chain's first page is done."""

    def requested(self, chain: str, point: ResumePoint) -> None:
        self._chains.setdefault(chain, {})[point.page] = _Page(point)

    def dropped(self, chain: str, page: int) -> None:
        """Scrapy's duplicate filter dropped the request: another chain reads that URL."""
        self._chains.get(chain, {}).pop(page, None)

    def parsed(self, chain: str, page: int, comment_ids: set[str], newest: str | None = None
               ) -> None:
        """The page was read; ``comment_ids`` are the comments it sent to Kafka, ``newest`` the
        native id of the first (newest) comment on a start URL's first page."""
        entry = self._chains.get(chain, {}).get(page)
        if entry is None:
            return
        entry.waiting, entry.newest = set(comment_ids), newest
        for comment_id in comment_ids:
            self._pages_of.setdefault(comment_id, []).append(entry)

    def confirmed(self, comment_id: str) -> None:
        """Kafka acknowledged the comment (or its dead letter)."""
        for entry in self._pages_of.pop(comment_id, []):
            assert entry.waiting is not None
            entry.waiting.discard(comment_id)

    def resume_points(self) -> list[ResumePoint]:
        """The first page not done of every chain that has one, finished chains dropped (and
        their first pages' newest comments taken into :attr:`newest`)."""
        points = []
        for chain, pages in list(self._chains.items()):
            while pages and pages[min(pages)].done:
                done = pages.pop(min(pages))
                if done.newest is not None:
                    self.newest[done.point.first_url] = done.newest
            if pages:
                points.append(pages[min(pages)].point)
            else:
                del self._chains[chain]
        return points


def points_to_resume(saved: list[dict[str, Any]], start_urls: set[str], profile_id: str
                     ) -> list[ResumePoint]:
    """The saved resume points a new crawl requests, each with one more try counted.

    A chain's first page is left out when it is a start URL (the crawl requests that anyway),
    and a point tried :data:`MAX_TRIES` times is given up.
    """
    points = []
    for point in map(ResumePoint.from_json, saved):
        if point.page == 0 and point.url in start_urls:
            continue
        if point.tries >= MAX_TRIES:
            log.warning("%s: giving up %s after %d crawls could not finish it; comments only "
                        "reachable from there are not read", profile_id, point.url, point.tries)
            continue
        points.append(ResumePoint(point.url, point.page, point.first_url, point.tries + 1))
    return points
