"""The store's queries against SQLite and a real PostgreSQL server."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from pipeline.records import AlertRow, DeadLetter, Lineage
from pipeline.store.models import Alert, AlertVersion, StoredDeadLetter
from pipeline.store.queries import (
    add_dead_letters,
    alert_ids,
    count,
    record_scores,
    select_alerts,
    select_dead_letters,
    select_versions,
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


LATER = ROW.crawled_at + timedelta(hours=1)


def _version(offset: int, label: str, text: str, crawled_at: datetime = LATER) -> AlertRow:
    """Comment "a" as re-sent at ``offset``: another text, crawled at ``crawled_at``."""
    return replace(ROW, raw_text=text, clean_text=text, label=label,
                   score=0.9 if label == "negative" else 0.1, crawled_at=crawled_at,
                   kafka_offset=offset, url=f"http://127.0.0.1/a?v={offset}")


def _stored(engine: Engine, comment_id: str = "a") -> Alert:
    with Session(engine) as session:
        alert = session.get(Alert, comment_id)
        assert alert is not None
        return alert


def _write(engine: Engine, *rows: AlertRow) -> None:
    with Session(engine) as session, session.begin():
        record_scores(session, rows)


def test_a_newer_negative_version_replaces_text_and_score(engine: Engine) -> None:
    _write(engine, ROW, _row("b", 0.95))
    _write(engine, _version(2**40, "negative", "太差了，再也不买了"))
    alert = _stored(engine)
    assert (alert.raw_text, alert.clean_text, alert.score, alert.kafka_offset) == (
        "太差了，再也不买了", "太差了，再也不买了", 0.9, 2**40)
    assert alert.url == f"http://127.0.0.1/a?v={2**40}" and alert.withdrawn_at is None
    with Session(engine) as session:
        assert count(session, Alert) == 2
        assert sorted(alert_ids(session)) == ["a", "b"]
        assert alert_ids(session, ["b", "z"]) == ["b"]


def test_an_older_version_replayed_changes_nothing(engine: Engine) -> None:
    _write(engine, _version(5, "negative", "新的差评"))
    # A reset consumer group replays what came before, negative and positive alike; at the
    # same crawl instant the earlier Kafka position is the older version.
    _write(engine, _version(1, "negative", "旧的", crawled_at=ROW.crawled_at))
    _write(engine, _version(4, "positive", "旧的好评"), _version(3, "negative", "同时的旧版"))
    alert = _stored(engine)
    assert (alert.raw_text, alert.kafka_offset, alert.withdrawn_at) == ("新的差评", 5, None)


def test_a_newer_positive_version_withdraws_and_a_newer_negative_reinstates(engine: Engine
                                                                            ) -> None:
    _write(engine, ROW)
    _write(engine, _version(1, "positive", "非常好,很满意"))
    alert = _stored(engine)
    assert (alert.raw_text, alert.label, alert.score) == ("非常好,很满意", "positive", 0.1)
    withdrawn_at = alert.withdrawn_at
    assert withdrawn_at is not None
    _write(engine, _version(1, "positive", "非常好,很满意"))
    assert _stored(engine).withdrawn_at == withdrawn_at, "a replay keeps when it was withdrawn"
    with Session(engine) as session:
        assert select_alerts(session) == []
        assert [a.comment_id for a in select_alerts(session, withdrawn=True)] == ["a"]

    _write(engine, _version(2, "negative", "又坏了", crawled_at=LATER + timedelta(hours=1)))
    alert = _stored(engine)
    assert (alert.raw_text, alert.label, alert.withdrawn_at) == ("又坏了", "negative", None)
    with Session(engine) as session:
        assert [a.comment_id for a in select_alerts(session)] == ["a"]
        assert select_alerts(session, withdrawn=True) == []


def test_a_positive_comment_never_alerted_stores_nothing(engine: Engine) -> None:
    _write(engine, _version(1, "positive", "非常好"))
    with Session(engine) as session:
        assert (count(session, Alert), count(session, AlertVersion)) == (0, 0)


def test_history_holds_each_version_once_even_when_replayed(engine: Engine) -> None:
    batches = [[ROW], [_version(1, "positive", "非常好")], [_version(1, "positive", "非常好")]]
    for batch in [*batches, *batches]:
        _write(engine, *batch)
    with Session(engine) as session:
        versions = select_versions(session, "a")
        assert [(v.kafka_offset, v.raw_text, v.label) for v in versions] == [
            (0, "差评", "negative"), (1, "非常好", "positive")]
        assert select_versions(session, "b") == []


def test_a_comment_sent_again_unchanged_is_no_new_version(engine: Engine) -> None:
    # A second crawl, or one retried after a broker outage: a new Kafka position, a later
    # crawl time, the same text.
    again = replace(ROW, crawled_at=LATER + timedelta(hours=1), kafka_offset=7)
    _write(engine, ROW)
    _write(engine, again, replace(again, kafka_offset=8))
    assert _stored(engine).kafka_offset == 8  # the latest still wins
    with Session(engine) as session:
        assert [v.kafka_offset for v in select_versions(session, "a")] == [0]


def test_several_versions_in_one_batch_end_at_the_newest(engine: Engine) -> None:
    # A re-crawl puts every version in the same keyed partition, often in the same bundle, and
    # not necessarily in crawl order.
    newest = _version(3, "negative", "第三版", crawled_at=LATER + timedelta(hours=1))
    _write(engine, _version(2, "negative", "第二版"), newest, ROW)
    alert = _stored(engine)
    assert (alert.raw_text, alert.kafka_offset) == ("第三版", 3)
    _write(engine, _version(4, "positive", "第四版", crawled_at=newest.crawled_at),
           _version(5, "negative", "第五版", crawled_at=LATER))
    alert = _stored(engine)
    assert (alert.raw_text, alert.kafka_offset, alert.label) == ("第四版", 4, "positive")
    assert alert.withdrawn_at is not None
    with Session(engine) as session:
        assert [v.kafka_offset for v in select_versions(session, "a")] == [0, 2, 5, 3, 4]


def test_select_alerts_filters_and_orders_worst_first(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        record_scores(session, [_row("a", 0.81), _row("b", 0.97), _row("c", 0.9, source="api")])
    with Session(engine) as session:
        assert [a.comment_id for a in select_alerts(session)] == ["b", "c", "a"]
        assert [a.comment_id for a in select_alerts(session, source="api")] == ["c"]
        assert [a.comment_id for a in select_alerts(session, min_score=0.85, limit=1)] == ["b"]
        future = datetime(2100, 1, 1, tzinfo=UTC)
        assert select_alerts(session, since=future) == []


def test_keyword_filter_matches_whole_keywords(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        record_scores(session, [_row("a", 0.81, keywords=["京东", "手机"]),
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
        record_scores(session, [_row("a", 0.9, keywords=["京东"]), _row("b", 0.9)])
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
        record_scores(session, [_row(str(n), 0.9, keywords=[f"k{n}"]) for n in range(50)])

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
