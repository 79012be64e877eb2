"""Schema revisions against SQLite and a real PostgreSQL server: upgrading empty databases and
ones the code before migrations made, and refusing to start on anything else."""

import logging
import socket
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from types import NoneType
from typing import Any, get_args, get_type_hints

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, create_engine, inspect, make_url, text
from sqlalchemy.orm import Session

from pipeline.records import AlertRow
from pipeline.store.engine import (
    SchemaError,
    StoreError,
    check_store,
    connect,
    current_revision,
    display_url,
    head_revision,
    make_engine,
    open_store,
)
from pipeline.store.migrations import BASELINE, alembic_config, alembic_options, upgrade
from pipeline.store.models import Alert, Base, StoredDeadLetter
from pipeline.store.queries import record_scores

DATA = Path(__file__).parent / "data"

OLD_ALERT: dict[str, Any] = {
    "comment_id": "jd:1", "source": "jd", "url": "http://127.0.0.1/1", "author": None,
    "published_at": None, "crawled_at": datetime(2026, 11, 21, tzinfo=UTC), "raw_text": "差评",
    "clean_text": "差评", "tokens": ["京东", "差评"], "keywords": ["京东", "手机"],
    "label": "negative", "score": 0.93, "model": "lstm", "model_version": "lstm-1",
    "kafka_topic": "comments", "kafka_partition": 2, "kafka_offset": 7,
    "created_at": datetime(2026, 11, 21, tzinfo=UTC),
    "updated_at": datetime(2026, 11, 21, tzinfo=UTC),
}
OLD_LETTER: dict[str, Any] = {
    "stage": "parse", "reason": "not JSON", "raw": b"\xff{", "record_id": None,
    "kafka_topic": "comments", "kafka_partition": 1, "kafka_offset": 5,
    "created_at": datetime(2026, 11, 21, tzinfo=UTC),
}


@pytest.fixture
def plain(url: str) -> Iterator[Engine]:
    """An engine as the code before migrations built it: json.dumps escapes non-ASCII."""
    database = make_url(url).database
    if url.startswith("sqlite") and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    built = create_engine(url)
    yield built
    built.dispose()


def _create_old_schema(engine: Engine) -> None:
    """The committed DDL the code before migrations created, with one row in each table."""
    ddl = (DATA / f"schema-0001.{engine.dialect.name}.sql").read_text(encoding="utf-8")
    with engine.begin() as connection:
        for statement in ddl.split(";"):
            if statement.strip():
                connection.exec_driver_sql(statement)
        tables = MetaData()
        tables.reflect(connection)
        connection.execute(tables.tables["alerts"].insert(), OLD_ALERT)
        connection.execute(tables.tables["dead_letters"].insert(), OLD_LETTER)


def _like(engine: Engine, needle: str) -> list[str]:
    column = "keywords::text" if engine.dialect.name == "postgresql" else "keywords"
    with engine.connect() as connection:
        query = text(f"SELECT comment_id FROM alerts WHERE {column} LIKE :pattern")
        return list(connection.execute(query, {"pattern": f"%{needle}%"}).scalars())


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=alembic_options(connection))
        return compare_metadata(context, Base.metadata)


def _refusal(engine: Engine) -> str:
    with pytest.raises(SchemaError) as caught:
        check_store(engine)
    message = str(caught.value)
    assert "\n" not in message and "yuqing-test" not in message
    return message


def test_alert_columns_are_alert_row_fields_plus_timestamps_and_triage() -> None:
    hints = get_type_hints(AlertRow)
    columns = Alert.__table__.columns
    assert [c.name for c in columns] == [f.name for f in fields(AlertRow)] + [
        "created_at", "updated_at", "withdrawn_at", "status", "verdict"]
    for field in fields(AlertRow):
        assert columns[field.name].nullable == (NoneType in get_args(hints[field.name])), field
    assert set(AlertRow.VERSIONED) < set(columns.keys())


def test_upgrade_creates_the_latest_schema(url: str) -> None:
    engine = make_engine(url)
    assert current_revision(engine) is None
    assert "has no Yuqing tables: run `yuqing db upgrade`" in _refusal(engine)
    with pytest.raises(SchemaError):
        open_store(url)

    assert upgrade(url) == head_revision() == "0009"
    assert current_revision(engine) == head_revision()
    assert _differences(engine) == []
    check_store(engine)
    assert upgrade(url) == head_revision(), "upgrading again changes nothing"
    open_store(url).dispose()
    engine.dispose()


def test_baseline_is_the_schema_the_old_code_created(url: str, plain: Engine) -> None:
    # Otherwise adopted databases and new ones would differ for every later revision.
    _create_old_schema(plain)
    old = MetaData()
    old.reflect(plain)
    old.drop_all(plain)
    with plain.begin() as connection:
        command.upgrade(alembic_config(connection), BASELINE)
    with plain.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), old)
    assert differences == []


def test_upgrade_adopts_and_migrates_a_database_made_before_migrations(
    url: str, plain: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _create_old_schema(plain)
    engine = make_engine(url)
    assert _like(engine, "京东") == [], "the old code stored keywords as \\u escapes"
    assert "from before schema revisions" in _refusal(engine)

    caplog.set_level(logging.INFO, logger="pipeline.store.migrations")
    assert upgrade(url) == head_revision()
    assert f"predates migrations: adopted it as revision {BASELINE}" in caplog.text
    check_store(engine)
    assert _differences(engine) == []

    assert _like(engine, "京东") == ["jd:1"]
    with Session(engine) as session, session.begin():
        alert = session.get(Alert, "jd:1")
        assert alert is not None
        assert (alert.keywords, alert.tokens) == (["京东", "手机"], ["京东", "差评"])
        assert (alert.raw_text, alert.score, alert.kafka_offset) == ("差评", 0.93, 7)
        (letter,) = session.query(StoredDeadLetter).all()
        assert (letter.raw, letter.kafka_offset) == (b"\xff{", 5)
        row = {k: v for k, v in OLD_ALERT.items() if k not in ("created_at", "updated_at")}
        record_scores(session, [AlertRow(**{**row, "kafka_offset": 2**40})])
    with Session(engine) as session:
        alert = session.get(Alert, "jd:1")
        assert alert is not None and alert.kafka_offset == 2**40
    engine.dispose()


def test_check_store_names_the_revision_it_found(url: str) -> None:
    engine = make_engine(url)
    with connect(engine) as connection, connection.begin():
        command.upgrade(alembic_config(connection), BASELINE)
    assert _refusal(engine).endswith(
        "is at schema revision 0001, the code needs 0009: run `yuqing db upgrade`")

    upgrade(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    assert "at schema revision 0099, which this code does not know" in _refusal(engine)
    with pytest.raises(SchemaError, match=r"cannot upgrade the database at .*0099") as caught:
        upgrade(url)
    assert "\n" not in str(caught.value)
    engine.dispose()


def test_downgrade_keeps_rows_and_upgrade_restores(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    row = {k: v for k, v in OLD_ALERT.items() if k not in ("created_at", "updated_at")}
    with Session(engine) as session, session.begin():
        record_scores(session, [AlertRow(**row)])
    with connect(engine) as connection, connection.begin():
        command.downgrade(alembic_config(connection), BASELINE)
    assert current_revision(engine) == BASELINE
    offset = next(c for c in inspect(engine).get_columns("alerts") if c["name"] == "kafka_offset")
    assert offset["type"].python_type is int and "BIG" not in str(offset["type"])

    assert upgrade(url) == head_revision()
    assert _like(engine, "京东") == ["jd:1"]
    with connect(engine) as connection, connection.begin():
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_a_wrong_password_is_one_line_naming_the_masked_url(postgres_url: str) -> None:
    wrong = make_url(postgres_url).set(password="not-the-password")
    engine = make_engine(wrong)
    expected = (f"cannot reach the database at {display_url(wrong)}:"
                ' password authentication failed for user "postgres"')
    assert "***" in display_url(wrong)
    with pytest.raises(StoreError) as caught:
        check_store(engine)
    assert str(caught.value) == expected
    assert not isinstance(caught.value, SchemaError)
    with pytest.raises(StoreError) as caught:
        upgrade(wrong)
    assert str(caught.value) == expected
    engine.dispose()


def test_no_server_is_one_line_naming_the_masked_url() -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://yuqing:secret@127.0.0.1:{port}/yuqing"
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert str(caught.value) == (f"cannot reach the database at postgresql+psycopg://yuqing:***"
                                 f"@127.0.0.1:{port}/yuqing: Connection refused")
