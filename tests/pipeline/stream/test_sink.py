"""WriteRows in a TestPipeline against real stores: a SQLite file and the session's PostgreSQL
server; stores that fail for real (a refused connection, a file that cannot be opened) and that
refuse rows for real (a trigger, as a DBA's rule would), not mocks. The outage that ends is in
test_store_outage.py; a refused comment in the running job is in test_store_rejects.py."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pipeline.alerts import Scored
from pipeline.broker import free_port
from pipeline.config import Settings
from pipeline.records import AlertRow, CommentRecord, DeadLetter, Lineage, one_line
from pipeline.store.engine import display_url, make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import Alert, OutboxNotice
from pipeline.store.queries import select_dead_letters
from pipeline.stream.sink import (
    LETTERS_LOST,
    STORE_REFUSED,
    StoreRetry,
    StoreUnavailable,
    WriteRows,
    record_scored,
    write_alerts,
    write_dead_letters,
)
from tests.utils.store import REFUSE, Store, drop_all_tables

SINK_LOGGER = "pipeline.stream.sink"
SECRET = "do-not-log-me"


def letters_to_write(count: int) -> list[DeadLetter]:
    return [DeadLetter(stage="parse", reason=f"r{i}", raw=b"x", lineage=Lineage(
        topic="comments", partition=0, offset=i)) for i in range(count)]


def test_write_rows_writes_each_bundle_to_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        _ = (pipeline | beam.Create(letters_to_write(5))
             | beam.ParDo(write_dead_letters(url)))
    with Session(make_engine(url)) as session:
        stored = select_dead_letters(session)
    assert sorted(letter.reason for letter in stored) == [f"r{i}" for i in range(5)]


def write_in_pipeline(url: str, retry: StoreRetry) -> None:
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        _ = (pipeline | beam.Create(letters_to_write(3))
             | beam.ParDo(write_dead_letters(url, retry)))


def refused_postgres(_tmp_path: Path) -> str:
    """A server that is down: nothing listens on the port, so every connect is refused."""
    return f"postgresql+psycopg://yuqing:{SECRET}@127.0.0.1:{free_port()}/yuqing"


def sqlite_on_a_directory(tmp_path: Path) -> str:
    """A SQLite file that cannot be opened. (Not an unwritable directory: root, which runs the
    tests here, writes there anyway; nor a locked file: make_engine waits 30 s on a lock.)"""
    (tmp_path / "store.db").mkdir()
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.mark.parametrize("unreachable", [refused_postgres, sqlite_on_a_directory])
def test_an_unreachable_store_is_retried_then_fails_in_one_line(
        unreachable: Callable[[Path], str], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SINK_LOGGER)
    url = unreachable(tmp_path)
    retry = StoreRetry(max_s=2, backoff_max_s=0.5)

    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as raised:
        write_in_pipeline(url, retry)

    assert time.monotonic() - started >= retry.max_s
    message = str(raised.value)
    assert "\n" not in message and SECRET not in message
    assert re.match(rf"store at {re.escape(display_url(url))} unreachable for [23] s "
                    r"\(\d+ attempts, limit store_retry_max_s=2\): ", message), message
    assert "offsets were not committed, so a restart resumes from them" in message
    # Warned once, at the first failure; the next warning would be due a minute later.
    warnings = [r.getMessage() for r in caplog.records if r.name == SINK_LOGGER]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"store at {display_url(url)} unreachable for ")
    assert "(attempt 1): " in warnings[0]
    assert warnings[0].endswith("; retrying, offsets held")


FLAKY = "yuqing_test_flaky"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A SQLite file, or the session's PostgreSQL server left as it was found afterwards."""
    if request.param == "sqlite":
        sqlite = Store(f"sqlite:///{tmp_path / 'store.db'}")
        upgrade(sqlite.url)
        yield sqlite
        return
    postgres = Store(request.getfixturevalue("postgres_url"))
    upgrade(postgres.url)
    postgres.execute(f"CREATE FUNCTION {REFUSE}() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$")
    try:
        yield postgres
    finally:
        postgres.execute(f"DROP FUNCTION IF EXISTS {REFUSE}() CASCADE",
                         f"DROP FUNCTION IF EXISTS {FLAKY}() CASCADE",
                         f"DROP SEQUENCE IF EXISTS {FLAKY}")
        drop_all_tables(postgres.url)


def scored(comment_id: str, offset: int) -> Scored:
    """A negative comment as scored, with bytes no re-serialisation gives (spaced, an extra
    field): its dead letter must keep exactly these."""
    record = CommentRecord(id=comment_id, source="s", url=f"http://127.0.0.1/{offset}",
                           text="太差了", crawled_at=datetime(2026, 1, 1, tzinfo=UTC))
    row = AlertRow(
        comment_id=comment_id, source="s", url=record.url, author=None, published_at=None,
        crawled_at=record.crawled_at, raw_text=record.text, clean_text=record.text,
        tokens=[record.text], keywords=[], label="negative", score=0.9, model="lstm",
        model_version="lstm-1", kafka_topic="comments", kafka_partition=0, kafka_offset=offset,
    )  # fmt: skip
    return Scored(row, f'{{ "id": "{comment_id}", "text": "太差了", "likes": {offset} }}'.encode())


def run_writer(rows: list[Any], writer: WriteRows) -> dict[str, int]:
    """Write ``rows`` as one bundle; return the job's counters."""
    pipeline = BeamTestPipeline(runner="FnApiRunner")
    _ = pipeline | beam.Create(rows) | beam.ParDo(writer)
    result = pipeline.run()
    result.wait_until_finish()
    counters = result.metrics().query(MetricsFilter().with_namespace("yuqing"))["counters"]
    return {item.key.metric.name: item.committed for item in counters}


def sink_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == SINK_LOGGER]


def test_a_row_the_store_refuses_is_a_dead_letter_and_the_others_are_stored(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SINK_LOGGER)
    store.refuse("alerts", "NEW.comment_id = 's:bad'", "no alerts about s:bad")
    rows = [scored("s:1", 10), scored("s:bad", 11), scored("s:2", 12)]

    counters = run_writer(rows, write_alerts(store.url))

    assert counters == {"scores_written": 2, STORE_REFUSED: 1, "dead_letters": 1}
    with Session(make_engine(store.url)) as session:
        assert set(session.scalars(select(Alert.comment_id))) == {"s:1", "s:2"}
        (letter,) = select_dead_letters(session)
    assert (letter.stage, letter.raw, letter.record_id) == ("store", rows[1].raw, "s:bad")
    assert (letter.kafka_topic, letter.kafka_partition, letter.kafka_offset) == ("comments", 0, 11)
    assert letter.reason.startswith("the store refused the comment's row: ")
    assert "no alerts about s:bad" in letter.reason and letter.reason == one_line(letter.reason)
    (warning,) = sink_records(caplog)
    assert (warning.levelname, warning.exc_info) == ("WARNING", None)
    assert warning.getMessage().startswith(
        "the store refused s:bad at topic comments partition 0 offset 11: ")
    assert "no alerts about s:bad" in warning.getMessage()


def test_a_dead_letter_the_store_refuses_is_kept_as_a_substitute_or_logged_with_its_position(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SINK_LOGGER)
    # The letter at offset 1 is refused only as a parse letter; the one at 2, whatever it says.
    store.refuse("dead_letters", "NEW.stage = 'parse' AND NEW.kafka_offset = 1", "not that one")
    store.refuse("dead_letters", "NEW.kafka_offset = 2", "nothing at 2")

    counters = run_writer(letters_to_write(4), write_dead_letters(store.url))

    assert counters == {"dead_letters": 3, STORE_REFUSED: 2, LETTERS_LOST: 1}
    with Session(make_engine(store.url)) as session:
        letters = {letter.kafka_offset: letter for letter in select_dead_letters(session)}
    assert sorted(letters) == [0, 1, 3]
    assert [letters[offset].stage for offset in (0, 1, 3)] == ["parse", "store", "parse"]
    substitute = letters[1]
    assert (substitute.raw, substitute.kafka_topic) == (b"x", "comments")
    assert substitute.reason.startswith("the store refused this parse dead letter (")
    assert "not that one" in substitute.reason and substitute.reason.endswith(
        "; its reason was: r1")
    refusals = [r for r in sink_records(caplog) if r.levelname == "WARNING"]
    assert len(refusals) == 2 and all(r.exc_info is None for r in refusals)
    (lost,) = [r for r in sink_records(caplog) if r.levelname == "ERROR"]
    assert "on Kafka at topic comments partition 0 offset 2" in lost.getMessage()
    assert "nothing at 2" in lost.getMessage() and lost.exc_info is None


@pytest.mark.integration
@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_store_that_cannot_take_a_row_for_a_while_is_waited_out_row_by_row(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SINK_LOGGER)
    store.refuse("alerts", "NEW.comment_id = 's:bad'", "no alerts about s:bad")
    # A transient failure (a serialization failure: SQLSTATE 40001) for the row after the
    # refused one, twice: the bundle fails on s:bad before reaching it, so it is met only in
    # the pass row by row. A sequence counts the attempts, as rollbacks do not undo it.
    store.execute(f"CREATE SEQUENCE {FLAKY}",
                  f"CREATE FUNCTION {FLAKY}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                  f"IF nextval('{FLAKY}') <= 2 THEN RAISE EXCEPTION 'try again' "
                  "USING ERRCODE = 'serialization_failure'; END IF; RETURN NEW; END $$",
                  f"CREATE TRIGGER flaky BEFORE INSERT ON alerts FOR EACH ROW "
                  f"WHEN (NEW.comment_id = 's:flaky') EXECUTE FUNCTION {FLAKY}()")
    rows = [scored("s:1", 10), scored("s:bad", 11), scored("s:flaky", 12)]

    counters = run_writer(rows, write_alerts(store.url, StoreRetry(max_s=60, backoff_max_s=0.2)))

    assert counters == {"scores_written": 2, STORE_REFUSED: 1, "dead_letters": 1}
    with Session(make_engine(store.url)) as session:
        assert set(session.scalars(select(Alert.comment_id))) == {"s:1", "s:flaky"}
        assert [letter.record_id for letter in select_dead_letters(session)] == ["s:bad"]
        # Three attempts in all, none in the bundle's transaction, which s:bad ended earlier.
        assert session.scalar(text(f"SELECT last_value FROM {FLAKY}")) == 3
    messages = [r.getMessage() for r in sink_records(caplog)]
    assert any(m.endswith("(attempt 1): try again; retrying, offsets held") for m in messages)
    assert any(" is back after " in m and "(2 failed attempts)" in m for m in messages)


@pytest.mark.integration
@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_a_table_gone_from_the_store_fails_the_bundle_and_dead_letters_nothing(
        store: Store) -> None:
    # SQLSTATE 42P01: no row is to blame, and a restart once the table is back must find the
    # rows still uncommitted.
    store.execute("DROP TABLE alerts")

    with pytest.raises(Exception, match="UndefinedTable"):
        run_writer([scored("s:1", 10), scored("s:2", 11)], write_alerts(store.url))

    with Session(make_engine(store.url)) as session:
        assert select_dead_letters(session) == []


def test_the_retry_bounds_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_STORE_RETRY_MAX_S", "45")
    monkeypatch.setenv("YUQING_STORE_RETRY_BACKOFF_MAX_S", "2.5")
    retry = StoreRetry.from_settings(Settings())
    assert (retry.max_s, retry.backoff_max_s) == (45, 2.5)


def test_backoff_doubles_up_to_its_cap() -> None:
    retry = StoreRetry(max_s=300, backoff_max_s=10, first_backoff_s=0.5)
    assert [retry.backoff_s(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]


def test_a_raised_alert_and_its_notice_are_stored_together(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        record_scored(session, [scored("c1", 1)])
        raise RuntimeError("the bundle failed after the write")
    with Session(engine) as session:
        assert session.scalars(select(OutboxNotice)).all() == []

    for _ in range(2):  # the second is a replay of the same message: no second notice
        with Session(engine) as session, session.begin():
            record_scored(session, [scored("c1", 1), scored("c2", 2)])
    with Session(engine) as session:
        notices = session.scalars(select(OutboxNotice).order_by(OutboxNotice.key)).all()
        assert [(n.kind, n.key, n.source, n.url) for n in notices] == [
            ("alert", "alert:c1:comments:0:1", "s", "http://127.0.0.1/1"),
            ("alert", "alert:c2:comments:0:2", "s", "http://127.0.0.1/2")]
        assert notices[0].body == "太差了" and notices[0].title == (
            "Negative comment on s (score 0.90)")
    engine.dispose()
