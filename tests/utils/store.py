"""Leaving a shared database as it was found; making a store refuse rows for real."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from sqlalchemy import MetaData, create_engine, text


def drop_all_tables(url: str) -> None:
    """Drop every table, ``alembic_version`` too: the session's PostgreSQL server is shared by
    every test that uses it."""
    engine = create_engine(url)
    try:
        tables = MetaData()
        tables.reflect(engine)
        tables.drop_all(engine)
    finally:
        engine.dispose()


REFUSE = "yuqing_test_refuse"


@dataclass(frozen=True)
class Store:
    """A migrated store that can be made to refuse rows for real, with a trigger."""

    url: str

    def execute(self, *statements: str) -> None:
        engine = create_engine(self.url)
        try:
            with engine.begin() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()

    def refuse(self, table: str, when: str, message: str) -> None:
        """Make the server refuse each row inserted into ``table`` for which the SQL ``when``
        (on ``NEW``) holds, with ``message``: on SQLite an IntegrityError, on PostgreSQL a
        RAISE EXCEPTION (SQLSTATE P0001, which psycopg counts as a ProgrammingError) in the
        function the ``store`` fixture creates."""
        name = f"refuse_{uuid4().hex[:12]}"
        if self.url.startswith("sqlite"):
            self.execute(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {when} "
                         f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
        else:
            self.execute(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW "
                         f"WHEN ({when}) EXECUTE FUNCTION {REFUSE}('{message}')")
