"""The store against SQLite and a real PostgreSQL server."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pipeline.store.models import Alert, Base, DeadLetter
from pipeline.store.queries import (
    add_dead_letters,
    count,
    make_engine,
    select_alerts,
    select_dead_letters,
    upsert_alerts,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nested' / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    built = make_engine(url)
    yield built
    Base.metadata.drop_all(built)
    built.dispose()


def _row(comment_id: str, score: float, source: str = "demo", offset: int = 0) -> dict:
    return {
        "comment_id": comment_id, "source": source, "url": f"http://127.0.0.1/{comment_id}",
        "author": None, "published_at": None, "crawled_at": datetime(2026, 11, 21, tzinfo=UTC),
        "raw_text": "差评", "clean_text": "差评", "tokens": ["差评"], "keywords": ["手机"],
        "label": "negative", "score": score, "model": "lstm", "model_version": "lstm-1",
        "kafka_topic": "comments", "kafka_partition": 0, "kafka_offset": offset,
    }


def test_upsert_is_idempotent_and_refreshes_score(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        upsert_alerts(session, [_row("a", 0.9), _row("b", 0.95)])
    with Session(engine) as session, session.begin():
        upsert_alerts(session, [_row("a", 0.99, offset=7)])
    with Session(engine) as session:
        assert count(session, Alert) == 2
        stored = session.get(Alert, "a")
        assert stored is not None
        assert (stored.score, stored.kafka_offset, stored.tokens) == (0.99, 7, ["差评"])


def test_select_alerts_filters_and_orders_worst_first(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        upsert_alerts(session, [_row("a", 0.81), _row("b", 0.97), _row("c", 0.9, source="api")])
    with Session(engine) as session:
        assert [a.comment_id for a in select_alerts(session)] == ["b", "c", "a"]
        assert [a.comment_id for a in select_alerts(session, source="api")] == ["c"]
        assert [a.comment_id for a in select_alerts(session, min_score=0.85, limit=1)] == ["b"]
        future = datetime(2100, 1, 1, tzinfo=UTC)
        assert select_alerts(session, since=future) == []


def test_dead_letters_keep_raw_bytes_and_replays_are_recorded_once(engine: Engine) -> None:
    letter = {"stage": "parse", "reason": "not JSON", "raw": b"\xff{", "record_id": None,
              "kafka_topic": "comments", "kafka_partition": 1, "kafka_offset": 5}
    with Session(engine) as session, session.begin():
        add_dead_letters(session, [letter])
    with Session(engine) as session, session.begin():
        add_dead_letters(session, [letter])
    with Session(engine) as session:
        assert count(session, DeadLetter) == 1
        (stored,) = select_dead_letters(session)
        assert (stored.raw, stored.reason) == (b"\xff{", "not JSON")


def test_one_batch_may_carry_the_same_comment_twice(engine: Engine) -> None:
    # A re-crawl puts both copies in the same keyed partition, often in the same bundle.
    with Session(engine) as session, session.begin():
        upsert_alerts(session, [_row("a", 0.9, offset=1), _row("a", 0.95, offset=2)])
    with Session(engine) as session:
        stored = session.get(Alert, "a")
        assert stored is not None and (stored.score, stored.kafka_offset) == (0.95, 2)
