"""Opening the store: engines, whether the database is usable, and the one-line errors an
operator sees when it is not. Creating or changing the schema is not done here but by
:func:`pipeline.store.migrations.upgrade` (``yuqing db upgrade``), once."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).with_name("migrations")
# What the code before migrations created; a database holding them but no revision is adoptable.
_BASELINE_TABLES = frozenset({"alerts", "dead_letters"})

# libpq starts with where it tried and the severity ('connection failed: connection to server at
# "127.0.0.1", port 5432 failed: FATAL:  '); our message names the URL already.
_LIBPQ_PREFIX = re.compile(
    r"^(connection failed: )?connection to server (at|on) .*? failed: ((FATAL|ERROR):\s+)?"
)


class StoreError(RuntimeError):
    """The database cannot be used; the message is one line, fit for a log or a terminal."""


class SchemaError(StoreError):
    """The database is reachable but its schema is not the one this code was written for."""


def make_engine(url: str | URL) -> Engine:
    """An engine for ``url``, which must already hold the schema (see :func:`check_store`).

    SQLite waits on locks, since the CLI reads beside the sink. JSON is written as unescaped
    UTF-8, so keywords stay findable by plain SQL (``keywords LIKE '%京东%'``).
    """
    parsed = make_url(url)
    connect_args: dict[str, Any]
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"timeout": 30}
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        connect_args = {"connect_timeout": 10}
    return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True,
                         json_serializer=partial(json.dumps, ensure_ascii=False))


def display_url(url: str | URL) -> str:
    """The URL as it may appear in logs and messages: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection, or a :class:`StoreError` that says in one line which database could not be
    reached and why, instead of SQLAlchemy's multi-line report."""
    try:
        connection = engine.connect()
    except DBAPIError as exc:
        lines = str(exc.orig).strip().splitlines() or [type(exc.orig).__name__]
        cause = _LIBPQ_PREFIX.sub("", lines[0])
        where = display_url(engine.url)
        raise StoreError(f"cannot reach the database at {where}: {cause}") from exc
    with connection:
        yield connection


def head_revision() -> str:
    """The schema revision this code needs."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision; None when it records none (empty, or made before migrations)."""
    with connect(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def predates_migrations(connection: Connection) -> bool:
    """Whether the database has the tables the code before migrations created (revision 0001's
    schema) but records no revision."""
    tables = set(inspect(connection).get_table_names())
    return "alembic_version" not in tables and tables >= _BASELINE_TABLES


def check_store(engine: Engine) -> None:
    """Raise :class:`StoreError` unless the database is reachable and at :func:`head_revision`.

    The job and the CLI call it at start-up, so a stale schema stops them with what to do
    rather than failing on the first write.
    """
    where = display_url(engine.url)
    with connect(engine) as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        predates = predates_migrations(connection)
    head = head_revision()
    if current == head:
        return
    if predates:
        raise SchemaError(f"database at {where} has Yuqing tables from before schema revisions,"
                          f" the code needs {head}: run `yuqing db upgrade`")
    if current is None:
        raise SchemaError(f"database at {where} has no Yuqing tables: run `yuqing db upgrade`")
    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if current not in known:
        raise SchemaError(f"database at {where} is at schema revision {current}, which this code"
                          " does not know (newer code migrated it): run that code instead")
    raise SchemaError(f"database at {where} is at schema revision {current}, the code needs"
                      f" {head}: run `yuqing db upgrade`")


def open_store(url: str | URL) -> Engine:
    """An engine on a store that :func:`check_store` accepts, for commands that read or write
    alerts; otherwise the :class:`StoreError` that says why not."""
    engine = make_engine(url)
    try:
        check_store(engine)
    except StoreError:
        engine.dispose()
        raise
    return engine
