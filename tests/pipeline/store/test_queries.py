"""The store's queries against SQLite and a real PostgreSQL server."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from pipeline.records import AlertRow, DeadLetter, Lineage
from pipeline.store.models import Alert, StoredDeadLetter
from pipeline.store.queries import (
    add_dead_letters,
    alert_ids,
    count,
    select_alerts,
    select_dead_letters,
    upsert_alerts,
)

ROW = AlertRow(
    comment_id="a", source="demo", url="http://127.0.0.1/a", author=None, published_at=None,
    crawled_at=datetime(2026, 11, 21, tzinfo=UTC), raw_text="差评", clean_text="差评",
    tokens=["差评"], keywords=["手机"], label="negative", score=0.9, model="lstm",
    model_version="lstm-1", kafka_topic="comments", kafka_partition=0, kafka_offset=0,
)


def _row(comment_id: str, score: float, **changes: object) -> AlertRow:
    return replace(ROW, comment_id=comment_id, url=f"http://127.0.0.1/{comment_id}", score=score,
                   **changes)


def _letter(offset: int | None, stage: str = "parse") -> DeadLetter:
    lineage = None if offset is None else Lineage(topic="comments", partition=1, offset=offset)
    return DeadLetter(stage=stage, reason="not JSON", raw=b"\xff{", lineage=lineage)


def test_upsert_is_idempotent_and_refreshes_score(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        upsert_alerts(session, [_row("a", 0.9), _row("b", 0.95)])
    with Session(engine) as session, session.begin():
        upsert_alerts(session, [_row("a", 0.99, kafka_offset=2**40, raw_text="changed")])
    with Session(engine) as session:
        assert count(session, Alert) == 2
        stored = session.get(Alert, "a")
        assert stored is not None
        assert (stored.score, stored.kafka_offset, stored.tokens) == (0.99, 2**40, ["差评"])
        assert stored.raw_text == "差评", "the comment itself stays as first seen"
        assert sorted(alert_ids(session)) == ["a", "b"]
        assert alert_ids(session, ["b", "z"]) == ["b"]


def test_one_batch_may_carry_the_same_comment_twice(engine: Engine) -> None:
    # A re-crawl puts both copies in the same keyed partition, often in the same bundle.
    with Session(engine) as session, session.begin():
        upsert_alerts(session, [_row("a", 0.9, kafka_offset=1), _row("a", 0.95, kafka_offset=2)])
    with Session(engine) as session:
        stored = session.get(Alert, "a")
        assert stored is not None and (stored.score, stored.kafka_offset) == (0.95, 2)


def test_select_alerts_filters_and_orders_worst_first(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        upsert_alerts(session, [_row("a", 0.81), _row("b", 0.97), _row("c", 0.9, source="api")])
    with Session(engine) as session:
        assert [a.comment_id for a in select_alerts(session)] == ["b", "c", "a"]
        assert [a.comment_id for a in select_alerts(session, source="api")] == ["c"]
        assert [a.comment_id for a in select_alerts(session, min_score=0.85, limit=1)] == ["b"]
        future = datetime(2100, 1, 1, tzinfo=UTC)
        assert select_alerts(session, since=future) == []


def test_keyword_filter_matches_whole_keywords(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        upsert_alerts(session, [_row("a", 0.81, keywords=["京东", "手机"]),
                                _row("b", 0.97, keywords=["京东物流"]),
                                _row("c", 0.9, keywords=[])])
    with Session(engine) as session:
        assert [a.comment_id for a in select_alerts(session, keyword="京东")] == ["a"]
        assert [a.comment_id for a in select_alerts(session, keyword="京东物流")] == ["b"]
        assert select_alerts(session, keyword="京") == []
        assert [a.comment_id for a in select_alerts(session, keyword="手机", min_score=0.8)] \
            == ["a"]


def test_plain_sql_finds_keywords(engine: Engine) -> None:
    # Operators and dashboards query the table directly; escaped JSON would hide every keyword.
    with Session(engine) as session, session.begin():
        upsert_alerts(session, [_row("a", 0.9, keywords=["京东"]), _row("b", 0.9)])
    column = "keywords::text" if engine.dialect.name == "postgresql" else "keywords"
    with engine.connect() as connection:
        found = connection.execute(
            text(f"SELECT comment_id FROM alerts WHERE {column} LIKE '%京东%'")).scalars().all()
    assert found == ["a"]


# SQLite has no index for JSON members: json_each scans, which suits its small databases.
@pytest.mark.parametrize("url", ["postgresql"], indirect=True)
def test_keyword_filter_uses_the_gin_index(engine: Engine) -> None:
    statements: list[tuple[str, object]] = []
    with Session(engine) as session, session.begin():
        upsert_alerts(session, [_row(str(n), 0.9, keywords=[f"k{n}"]) for n in range(50)])

    def capture(_conn: object, _cursor: object, statement: str, parameters: object,
                *_: object) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as session:
            select_alerts(session, keyword="k7")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    (statement, parameters), = statements
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
    assert "ix_alerts_keywords" in plan


def test_dead_letters_keep_raw_bytes_and_replays_are_recorded_once(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        add_dead_letters(session, [_letter(5), _letter(5), _letter(None), _letter(None)])
    with Session(engine) as session, session.begin():
        add_dead_letters(session, [_letter(5), _letter(2**40)])
    with Session(engine) as session:
        assert count(session, StoredDeadLetter) == 4, "unlineaged letters are never duplicates"
        newest = select_dead_letters(session)[0]
        assert (newest.raw, newest.reason, newest.kafka_offset) == (b"\xff{", "not JSON", 2**40)


def test_dead_letters_filter_by_stage(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        add_dead_letters(session, [_letter(1), _letter(2, stage="score"), _letter(3)])
    with Session(engine) as session:
        assert [d.kafka_offset for d in select_dead_letters(session, stage="parse")] == [3, 1]
        assert [d.stage for d in select_dead_letters(session, stage="score")] == ["score"]
        assert len(select_dead_letters(session, limit=2)) == 2
