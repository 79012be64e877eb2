"""Which comments the site has published, in what order and when.

A scheduler is only tested if a site changes between its visits, and a crawl is only checked if
the site can say exactly what it has shown. So the site publishes its comments oldest first,
part at start and the rest on demand, and the published list, with the instants the site
showed, is the truth a test compares Kafka against.

A comment published after start is stamped with the site's clock at that moment, not with the
date it was dealt: new items must be the newest, or a crawler that stops at the first item it
has seen would be right to skip them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from devkit.demosite.comments import DemoComment


@dataclass(frozen=True)
class Snapshot:
    """What is visible at one moment; readers hold it while the site moves on."""

    published: tuple[DemoComment, ...]
    """In publish order, oldest first, each with the instant the site shows."""
    legacy: tuple[DemoComment, ...]
    """The same comments in the original site's order (see :class:`Timeline`)."""
    version: int


class Timeline:
    """Publishes ``comments`` oldest first (by ``published_at``, ties by position).

    ``initial`` comments are visible from the start (all when None). The original two sources
    list comments in the order given, so :attr:`Snapshot.legacy` keeps that order for the
    comments visible at start and appends later ones, leaving a static site exactly as it was.
    """

    def __init__(self, comments: Sequence[DemoComment], initial: int | None,
                 clock: Callable[[], datetime]) -> None:
        count = len(comments) if initial is None else initial
        if not 0 <= count <= len(comments):
            raise ValueError(f"initial must be between 0 and {len(comments)}, not {initial}")
        order = sorted(range(len(comments)), key=lambda i: (comments[i].published_at, i))
        self.schedule = tuple(comments[i] for i in order)
        """Every comment in the order it is (or will be) published."""
        shown = set(order[:count])
        self._clock = clock
        self._lock = threading.Lock()
        self._pending = list(self.schedule[count:])
        # New comments must be the newest, even on a clock that lags the dealt dates.
        self._last_stamp = self.schedule[count - 1].published_at if count else None
        self.snapshot = Snapshot(
            published=self.schedule[:count],
            legacy=tuple(c for i, c in enumerate(comments) if i in shown),
            version=0,
        )

    def publish(self, n: int = 1, source: str | None = None) -> list[DemoComment]:
        """Publish the next ``n`` comments (of ``source`` only, if given); returns them stamped.

        Fewer than ``n`` come back when fewer are left.
        """
        if n < 0:
            raise ValueError(f"cannot publish {n} comments")
        with self._lock:
            chosen = [c for c in self._pending if source is None or c.source == source][:n]
            if not chosen:
                return []
            ids = {id(c) for c in chosen}
            self._pending = [c for c in self._pending if id(c) not in ids]
            stamped = [replace(c, published_at=self._stamp()) for c in chosen]
            old = self.snapshot
            self.snapshot = Snapshot(published=old.published + tuple(stamped),
                                     legacy=old.legacy + tuple(stamped), version=old.version + 1)
            return stamped

    def pending(self, source: str | None = None) -> int:
        """How many comments (of ``source``, if given) are still to be published."""
        with self._lock:
            return sum(source is None or c.source == source for c in self._pending)

    def _stamp(self) -> datetime:
        """The clock's now to the second, never earlier than anything already shown."""
        now = self._clock().replace(microsecond=0)
        if self._last_stamp is not None and now < self._last_stamp:
            now = self._last_stamp
        self._last_stamp = now
        return now
