"""The API's tests run on both stores it supports: a SQLite file and the session's PostgreSQL
server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.store.migrations import upgrade
from tests.utils.store import drop_all_tables


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated store; the shared PostgreSQL server's tables are dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'yuqing.db'}"
        upgrade(url)
        yield url
        return
    url = request.getfixturevalue("postgres_url")
    upgrade(url)
    yield url
    drop_all_tables(url)
