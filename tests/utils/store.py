"""Leaving a shared database as it was found."""

from __future__ import annotations

from sqlalchemy import MetaData, create_engine


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
