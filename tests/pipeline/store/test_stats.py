"""Comment volumes, surges, and which writes raise an alert, on SQLite and PostgreSQL."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pipeline.records import AlertRow, Surge, SurgeComment, SurgeSubject
from pipeline.store.models import Comment
from pipeline.store.queries import count, record_scores
from pipeline.store.stats import Bucket, GroupBy, TooManyBuckets, comment_volume
from pipeline.store.surges import add_surges, select_surges

T0 = datetime(2026, 11, 29, 15, 30, tzinfo=UTC)  # 23:30 in Beijing
ROW = AlertRow(
    comment_id="a", source="shop", url="http://127.0.0.1/a", author=None, published_at=T0,
    crawled_at=T0 + timedelta(hours=5), raw_text="差评", clean_text="差评", tokens=["差评"],
    keywords=["华为"], label="negative", score=0.9, model="lstm", model_version="lstm-1",
    kafka_topic="comments", kafka_partition=0, kafka_offset=0,
)


def _row(comment_id: str, label: str, published_at: datetime | None, **changes: object
         ) -> AlertRow:
    return replace(ROW, comment_id=comment_id, label=label, published_at=published_at,
                   score=0.9 if label == "negative" else 0.1, **changes)


def _write(engine: Engine, *rows: AlertRow) -> list[AlertRow]:
    with Session(engine) as session, session.begin():
        return record_scores(session, rows)


def _volume(engine: Engine, **options: object) -> dict[str | None, list[tuple[int, int]]]:
    with Session(engine) as session:
        volumes = comment_volume(session, **options)  # type: ignore[arg-type]
    return {group: [(p.total, p.negative) for p in points] for group, points in volumes.items()}


def test_only_new_or_reinstated_alerts_are_returned_as_raised(engine: Engine) -> None:
    assert [row.comment_id for row in _write(engine, ROW, _row("p", "positive", T0))] == ["a"]
    # The same comment again (a replay), or a newer negative version: refreshed, not raised.
    assert _write(engine, ROW) == []
    assert _write(engine, replace(ROW, kafka_offset=5, raw_text="很差")) == []
    withdrawn = _row("a", "positive", T0, kafka_offset=6)
    assert _write(engine, withdrawn) == []
    reinstated = replace(ROW, kafka_offset=7, raw_text="还是差")
    assert _write(engine, reinstated) == [reinstated]


def test_every_comment_counts_once_at_its_latest_label(engine: Engine) -> None:
    _write(engine, ROW, _row("b", "positive", T0 + timedelta(minutes=20)),
           _row("c", "negative", T0 + timedelta(hours=1), keywords=["华为", "小米"]))
    _write(engine, ROW, replace(_row("b", "negative", T0 + timedelta(minutes=20)),
                                kafka_offset=9))  # a replay, and an edit turning negative
    with Session(engine) as session:
        assert count(session, Comment) == 3
    assert _volume(engine) == {None: [(2, 2), (1, 1)]}
    assert _volume(engine, by=GroupBy.KEYWORD) == {
        "华为": [(2, 2), (1, 1)], "小米": [(0, 0), (1, 1)]}
    assert _volume(engine, keyword="小米") == {None: [(1, 1)]}
    assert _volume(engine, source="nowhere") == {}


def test_days_begin_at_midnight_in_the_time_zone_asked_for(engine: Engine) -> None:
    _write(engine, ROW, _row("b", "positive", T0 + timedelta(hours=1)),
           _row("c", "positive", None))  # no publication time: counted when crawled
    assert _volume(engine, bucket=Bucket.DAY) == {None: [(3, 1)]}
    assert _volume(engine, bucket=Bucket.DAY, tz=ZoneInfo("Asia/Shanghai")) == {
        None: [(1, 1), (2, 0)]}
    with Session(engine) as session:
        days = comment_volume(session, bucket=Bucket.DAY, tz=ZoneInfo("Asia/Shanghai"))[None]
    assert [point.start.isoformat() for point in days] == [
        "2026-11-29T00:00:00+08:00", "2026-11-30T00:00:00+08:00"]
    assert [point.share for point in days] == [1.0, 0.0]


def test_a_range_is_filled_with_empty_buckets_and_bounded(engine: Engine) -> None:
    _write(engine, ROW)
    since = T0.replace(minute=0) - timedelta(hours=2)
    assert _volume(engine, since=since, until=since + timedelta(hours=4)) == {
        None: [(0, 0), (0, 0), (1, 1), (0, 0)]}
    with pytest.raises(TooManyBuckets, match="narrow the range"):
        _volume(engine, since=since - timedelta(days=400), until=since)


def test_a_surge_is_stored_once_per_subject_and_window(engine: Engine) -> None:
    surge = Surge(subject_kind=SurgeSubject.KEYWORD, subject="华为", window_start=T0,
                  window_end=T0 + timedelta(minutes=10), count=12, baseline_mean=1.5,
                  baseline_std=0.8, threshold=6.0,
                  top_comments=(SurgeComment(comment_id="a", text="差评", score=0.97),))
    with Session(engine) as session, session.begin():
        add_surges(session, [surge])
        add_surges(session, [replace(surge, count=13)])  # the job replayed
    with Session(engine) as session:
        stored = select_surges(session, subject="华为")
        assert [(s.count, s.top_comments) for s in stored] == [
            (12, [{"comment_id": "a", "text": "差评", "score": 0.97}])]
        assert select_surges(session, subject_kind=SurgeSubject.SOURCE) == []
