"""The notification outbox: what the store writes so that a notice is sent exactly when the thing
it tells of was stored.

A writer calls :func:`enqueue` in the transaction that stores the alert, surge or crawl-health
problem: if that transaction rolls back, no notice exists; if it commits, the notice is there for
the dispatcher (:mod:`pipeline.notify`) however the process ends afterwards. Each notice carries
an idempotency key naming what it is about, so a replayed write (Kafka redelivering a bundle, a
crawl re-assessed) adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from pipeline.store.models import OutboxNotice
from pipeline.store.queries import insert_for


class NoticeKind(StrEnum):
    ALERT = "alert"
    SURGE = "surge"
    CRAWL_HEALTH = "crawl_health"


@dataclass(frozen=True)
class Notice:
    """One thing to tell operators about; rules match on ``kind``, ``source``, ``keywords`` and
    ``score``."""

    kind: NoticeKind
    key: str  # idempotency key, unique in the outbox: a second enqueue of the same key is a no-op
    title: str  # one line
    body: str  # a few lines of plain text (comment text, surge counts, crawl problem)
    source: str | None  # for rule matching / grouping
    keywords: tuple[str, ...]
    score: float | None
    url: str | None


def enqueue(session: Session, notices: Sequence[Notice]) -> None:
    """Add ``notices`` to the outbox in the caller's transaction; keys already there are
    skipped."""
    if not notices:
        return
    first: dict[str, Notice] = {}
    for notice in notices:  # one statement may not touch a key twice (PostgreSQL refuses)
        first.setdefault(notice.key, notice)
    rows = [{"kind": str(notice.kind), "key": notice.key, "title": notice.title,
             "body": notice.body, "source": notice.source, "keywords": list(notice.keywords),
             "score": notice.score, "url": notice.url} for notice in first.values()]
    session.execute(insert_for(session, OutboxNotice.__table__)
                    .on_conflict_do_nothing(index_elements=[OutboxNotice.key]), rows)
