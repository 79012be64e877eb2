"""Databases for the store's tests: a SQLite file and the session's PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from tests.utils.store import drop_all_tables


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, emptied again afterwards: the PostgreSQL server is shared by the
    whole session, so every table this test made, ``alembic_version`` too, is dropped."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nested' / 'store.db'}"
        return
    found: str = request.getfixturevalue("postgres_url")
    yield found
    drop_all_tables(found)


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    """An engine on a database upgraded to the latest revision."""
    upgrade(url)
    built = make_engine(url)
    yield built
    built.dispose()
