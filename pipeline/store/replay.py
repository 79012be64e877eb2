"""The stored comments a replay re-scores (``yuqing replay``), read in batches.

Batches are pages keyed by comment id, not offsets: a replay that applies its scores rewrites
each batch before reading the next, and a keyset page neither skips nor repeats a comment while
rows change under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from pipeline.store.models import Comment


def _filters(since: datetime | None, until: datetime | None, source: str | None
             ) -> list[ColumnElement[bool]]:
    # In UTC: SQLite compares the digits of a date, and stores ``at`` in UTC.
    filters = []
    if since is not None:
        filters.append(Comment.at >= since.astimezone(UTC))
    if until is not None:
        filters.append(Comment.at < until.astimezone(UTC))
    if source is not None:
        filters.append(Comment.source == source)
    return filters


def count_comments(session: Session, *, since: datetime | None = None,
                   until: datetime | None = None, source: str | None = None) -> int:
    """How many comments the filters keep; ``since``/``until`` bound when a comment was written
    (published, else crawled)."""
    query = select(func.count()).select_from(Comment).where(*_filters(since, until, source))
    return session.scalar(query) or 0


def comment_batch(session: Session, *, after: str | None, limit: int,
                  since: datetime | None = None, until: datetime | None = None,
                  source: str | None = None) -> Sequence[Comment]:
    """The next ``limit`` comments by id after the id ``after`` (None: from the first)."""
    query = select(Comment).where(*_filters(since, until, source))
    if after is not None:
        query = query.where(Comment.comment_id > after)
    return session.scalars(query.order_by(Comment.comment_id).limit(limit)).all()
