"""Comment volumes over time: how many comments were written per hour or day, how many of them
are negative, per source or per watched keyword. The dashboard's chart and ``/stats``.

The database groups by UTC hour (the one truncation both SQLite and PostgreSQL do the same
way); days in the caller's time zone are summed from those hours here, so a Beijing day is
00:00-24:00 Beijing time whatever zone the server runs in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, case, func, select
from sqlalchemy.orm import Session

from pipeline.records import Label
from pipeline.store.models import Comment, CommentKeyword

MAX_BUCKETS = 24 * 92
"""The most buckets one answer holds: three months of hours, or 250 years of days."""


class Bucket(StrEnum):
    HOUR = "hour"
    DAY = "day"


class GroupBy(StrEnum):
    NONE = "none"
    SOURCE = "source"
    KEYWORD = "keyword"


class TooManyBuckets(ValueError):
    """The range asked for is longer than :data:`MAX_BUCKETS` buckets."""


@dataclass(frozen=True)
class VolumePoint:
    start: datetime
    total: int
    negative: int

    @property
    def share(self) -> float | None:
        """The negative share; None for a bucket without comments, which has none to share."""
        return self.negative / self.total if self.total else None


def comment_volume(
    session: Session,
    *,
    bucket: Bucket = Bucket.HOUR,
    by: GroupBy = GroupBy.NONE,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    keyword: str | None = None,
    tz: ZoneInfo = ZoneInfo("UTC"),
) -> dict[str | None, list[VolumePoint]]:
    """Per group (None when not grouped), the buckets from the first to the last one with
    comments (or ``since`` to ``until`` when given), empty ones included so that a chart's gaps
    are real gaps.

    A comment counts at ``at`` (published, else crawled) and at its latest version's label; one
    that mentions two keywords counts in both groups.
    """
    hour = _utc_hour(session)
    group: ColumnElement[str] | None = {
        GroupBy.NONE: None, GroupBy.SOURCE: Comment.source, GroupBy.KEYWORD: CommentKeyword.keyword,
    }[by]
    columns = [hour.label("hour"), func.count().label("total"),
               func.sum(case((Comment.label == Label.NEGATIVE.value, 1), else_=0),
                        type_=Integer).label("negative")]
    query = select(*columns, *([group.label("grp")] if group is not None else []))
    if by is GroupBy.KEYWORD or keyword is not None:
        query = query.join(CommentKeyword, CommentKeyword.comment_id == Comment.comment_id)
    if keyword is not None:
        query = query.where(CommentKeyword.keyword == keyword)
    if source is not None:
        query = query.where(Comment.source == source)
    if since is not None:
        query = query.where(Comment.at >= since)
    if until is not None:
        query = query.where(Comment.at < until)
    query = query.group_by(hour, *([group] if group is not None else []))
    sums: dict[str | None, dict[datetime, list[int]]] = defaultdict(lambda: defaultdict(
        lambda: [0, 0]))
    for row in session.execute(query):
        start = _floor(_as_utc(row.hour).astimezone(tz), bucket)
        counts = sums[row.grp if group is not None else None][start]
        counts[0] += row.total
        counts[1] += row.negative or 0
    starts = [start for counts in sums.values() for start in counts]
    first = _floor(since.astimezone(tz), bucket) if since else min(starts, default=None)
    last = _floor((until - timedelta(microseconds=1)).astimezone(tz), bucket) if until else max(
        starts, default=None)
    if first is None or last is None:
        return {}
    timeline = _buckets(first, last, bucket)
    return {name: [VolumePoint(start, *counts.get(start, (0, 0))) for start in timeline]
            for name, counts in sorted(sums.items(), key=lambda item: str(item[0]))}


def _utc_hour(session: Session) -> ColumnElement[datetime]:
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", Comment.at))
    # SQLite holds the UTC digits as text (the store writes ``at`` in UTC).
    return func.strftime("%Y-%m-%d %H:00:00", Comment.at)


def _as_utc(value: datetime | str) -> datetime:
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.replace(tzinfo=UTC)


def _floor(instant: datetime, bucket: Bucket) -> datetime:
    instant = instant.replace(minute=0, second=0, microsecond=0)
    return instant.replace(hour=0) if bucket is Bucket.DAY else instant


def _buckets(first: datetime, last: datetime, bucket: Bucket) -> list[datetime]:
    """Every bucket start from ``first`` to ``last``. Hours step in UTC (a local hour repeats
    when the clocks go back); days step by the calendar, so a day is 23 or 25 hours long when
    the clocks change."""
    starts = []
    current = first
    while current <= last:
        if len(starts) == MAX_BUCKETS:
            raise TooManyBuckets(f"more than {MAX_BUCKETS} {bucket.value}s asked for: narrow "
                                 "the range (since/until) or use a longer bucket")
        starts.append(current)
        if bucket is Bucket.HOUR:
            current = (current.astimezone(UTC) + timedelta(hours=1)).astimezone(current.tzinfo)
        else:
            current = _floor((current + timedelta(days=1, hours=3)).replace(tzinfo=None)
                             .replace(tzinfo=current.tzinfo), bucket)
    return starts
