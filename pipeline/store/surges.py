"""The surges the stream job raises: stored once per subject and window, listed newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.records import Surge, SurgeSubject
from pipeline.store.models import StoredSurge
from pipeline.store.queries import insert_for


def add_surges(session: Session, surges: Sequence[Surge]) -> None:
    """Store surges; one already stored for its subject and window (a replay) is kept as it
    was, so its notification and its id do not change."""
    if not surges:
        return
    rows = [{"subject_kind": surge.subject_kind.value, "subject": surge.subject,
             "window_start": surge.window_start.astimezone(UTC),
             "window_end": surge.window_end.astimezone(UTC), "count": surge.count,
             "baseline_mean": surge.baseline_mean, "baseline_std": surge.baseline_std,
             "threshold": surge.threshold, "raised_at": datetime.now(UTC),
             "top_comments": [asdict(comment) for comment in surge.top_comments]}
            for surge in surges]
    session.execute(insert_for(session, StoredSurge.__table__).on_conflict_do_nothing(), rows)


def select_surges(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    subject_kind: SurgeSubject | None = None,
    subject: str | None = None,
    limit: int = 100,
) -> Sequence[StoredSurge]:
    """Newest window first; ``since``/``until`` bound the window's start."""
    query = select(StoredSurge)
    if since is not None:
        query = query.where(StoredSurge.window_start >= since)
    if until is not None:
        query = query.where(StoredSurge.window_start < until)
    if subject_kind is not None:
        query = query.where(StoredSurge.subject_kind == subject_kind.value)
    if subject is not None:
        query = query.where(StoredSurge.subject == subject)
    query = query.order_by(StoredSurge.window_start.desc(), StoredSurge.id.desc()).limit(limit)
    return session.scalars(query).all()
