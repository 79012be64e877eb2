"""Replaying stored comments with the shipped LSTM: the report names exactly the alerts the model
raises and withdraws (checked against `yuqing score`'s own Predictor), a dry run writes nothing,
and --apply writes what it reported, keeping each comment's Kafka lineage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models.data import load_examples
from models.predict import Predictor
from pipeline.config import Settings
from pipeline.records import AlertRow
from pipeline.replay import Filters, Rescorer, replay
from pipeline.scoring import load_scorer
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import Alert, Comment
from pipeline.store.queries import record_scores
from tests.utils.store import drop_all_tables

ARTIFACT = Path(__file__).resolve().parents[2] / "models" / "artifacts" / "lstm"
COMMENTS = 40
START = datetime(2026, 11, 1, tzinfo=UTC)


def old_row(n: int, text: str) -> AlertRow:
    """What an older model said: every other comment negative, whatever it says."""
    negative = n % 2 == 0
    return AlertRow(
        comment_id=f"demo-{'shop' if n % 4 < 2 else 'forum'}:{n:03d}",
        source="demo-shop" if n % 4 < 2 else "demo-forum", url=f"http://127.0.0.1/{n}",
        author=None, published_at=START + timedelta(days=n), crawled_at=START + timedelta(days=n),
        raw_text=text, clean_text=text, tokens=[], keywords=[],
        label="negative" if negative else "positive", score=0.9 if negative else 0.1,
        model="lstm", model_version="lstm-0.9.0", kafka_topic="comments",
        kafka_partition=n % 3, kafka_offset=1000 + n,
    )  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated store holding the comments as the older model scored them."""
    url = (f"sqlite:///{tmp_path / 'yuqing.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    upgrade(url)
    engine = make_engine(url)
    texts = [example.text for example in load_examples("test")[:COMMENTS]]
    with Session(engine) as session, session.begin():
        record_scores(session, [old_row(n, text) for n, text in enumerate(texts)])
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        drop_all_tables(url)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(model="lstm", model_path=ARTIFACT, correct_text=False, device="cpu")


@pytest.fixture(scope="module")
def rescorer(settings: Settings) -> Rescorer:
    return Rescorer(settings, load_scorer(settings))


def snapshot(engine: Engine) -> tuple[list[Any], list[Any]]:
    with Session(engine) as session:
        comments = session.execute(select(Comment.comment_id, Comment.label, Comment.score,
                                          Comment.model_version).order_by(Comment.comment_id))
        alerts = session.execute(select(Alert.comment_id, Alert.score, Alert.withdrawn_at,
                                        Alert.model_version).order_by(Alert.comment_id))
        return [tuple(row) for row in comments], [tuple(row) for row in alerts]


def expected(engine: Engine, settings: Settings) -> tuple[set[str], set[str]]:
    """(raised, withdrawn) by the independent Predictor's scores."""
    with Session(engine) as session:
        stored = session.scalars(select(Comment).order_by(Comment.comment_id)).all()
    scores = Predictor(settings).score([comment.raw_text for comment in stored])
    now = {comment.comment_id for comment, scored in zip(stored, scores, strict=True)
           if scored.score is not None and scored.score >= settings.alert_threshold}
    before = {comment.comment_id for comment in stored if comment.label == "negative"}
    return now - before, before - now


def test_a_dry_run_reports_the_changes_and_writes_nothing(
        store: Engine, settings: Settings, rescorer: Rescorer) -> None:
    before = snapshot(store)
    report = replay(store, rescorer, Filters(), batch_size=7, examples=COMMENTS)

    raised, withdrawn = expected(store, settings)
    assert raised and withdrawn  # the seed is built so that both happen
    assert (report.selected, report.rescored, report.refused) == (COMMENTS, COMMENTS, 0)
    assert {change.comment_id for change in report.raised.largest()} == raised
    assert {change.comment_id for change in report.withdrawn.largest()} == withdrawn
    assert all(abs(change.delta) > 0.1 for change in report.shifted.largest())
    assert report.model_version == rescorer.scorer.version and not report.applied
    assert snapshot(store) == before


def test_apply_writes_what_the_dry_run_reported(
        store: Engine, settings: Settings, rescorer: Rescorer) -> None:
    dry = replay(store, rescorer, Filters(), examples=COMMENTS)
    applied = replay(store, rescorer, Filters(), apply=True, batch_size=9, examples=COMMENTS)
    for kind in ("raised", "withdrawn", "shifted"):  # batches differ, so scores may by 1e-6
        was, now = getattr(dry, kind).largest(), getattr(applied, kind).largest()
        assert [c.comment_id for c in was] == [c.comment_id for c in now]
        assert [c.new_score for c in was] == pytest.approx([c.new_score for c in now], abs=1e-5)

    version = rescorer.scorer.version
    with Session(store) as session:
        comments = session.scalars(select(Comment)).all()
        alerts = {alert.comment_id: alert for alert in session.scalars(select(Alert))}
    assert {comment.model_version for comment in comments} == {version}
    assert {(c.kafka_partition, c.kafka_offset) for c in comments} == {
        (n % 3, 1000 + n) for n in range(COMMENTS)}
    negative = {comment.comment_id for comment in comments if comment.label == "negative"}
    standing = {i for i, alert in alerts.items() if alert.withdrawn_at is None}
    assert standing == negative
    assert {change.comment_id for change in dry.raised.largest()} <= standing
    for change in dry.withdrawn.largest():
        assert alerts[change.comment_id].withdrawn_at is not None
        assert alerts[change.comment_id].model_version == version

    again = replay(store, rescorer, Filters())
    assert (again.raised.count, again.withdrawn.count, again.shifted.count) == (0, 0, 0)


def test_a_higher_threshold_only_withdraws(store: Engine, settings: Settings,
                                           rescorer: Rescorer) -> None:
    replay(store, rescorer, Filters(), apply=True)
    strict = Rescorer(settings.model_copy(update={"alert_threshold": 0.999}), rescorer.scorer)
    report = replay(store, strict, Filters(), examples=COMMENTS)
    assert report.raised.count == 0 and report.withdrawn.count > 0
    assert report.shifted.count == 0  # the same model: scores did not move
    assert all(change.new_score < 0.999 for change in report.withdrawn.largest())


def test_a_source_threshold_withdraws_only_that_sources_alerts(
        store: Engine, settings: Settings, rescorer: Rescorer) -> None:
    replay(store, rescorer, Filters(), apply=True)
    strict = settings.model_copy(update={"source_thresholds": {"demo-shop": 0.999}})
    report = replay(store, Rescorer(strict, rescorer.scorer), Filters(), examples=COMMENTS)
    assert report.raised.count == 0 and report.withdrawn.count > 0
    assert {change.source for change in report.withdrawn.largest()} == {"demo-shop"}
    assert report.as_dict()["source_thresholds"] == {"demo-shop": 0.999}


def test_filters_and_limit_choose_the_comments(store: Engine, rescorer: Rescorer) -> None:
    shop = replay(store, rescorer, Filters(source="demo-shop"))
    assert shop.rescored == COMMENTS // 2
    recent = replay(store, rescorer, Filters(since=START + timedelta(days=30),
                                             until=START + timedelta(days=35)))
    assert recent.rescored == 5
    assert replay(store, rescorer, Filters(limit=3), batch_size=2).rescored == 3
