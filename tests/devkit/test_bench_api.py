"""`yuqing bench api` at a small size, on both stores: the seeded alerts answer every filter
shape through a real `yuqing serve`, so the latency figures in docs/benchmarks.md come from a
bench that works."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devkit.bench.api import TOTAL, ApiBenchError, run, seed_rows, shapes, table
from pipeline.config import Settings
from pipeline.store.migrations import upgrade
from tests.pipeline.cli.test_errors import yuqing
from tests.utils.store import drop_all_tables

pytestmark = pytest.mark.integration

SHAPES = ["first page", "since 24 h", "keyword", "source + min_score", "text search",
          "deep cursor"]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (the bench's own SQLite file), or the shared PostgreSQL server, emptied after."""
    if request.param == "sqlite":
        yield None
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    drop_all_tables(url)


def test_every_shape_is_timed_and_finds_alerts(empty_store: str | None) -> None:
    result = json.loads(json.dumps(run(Settings(), alerts=500, requests=20,
                                       database_url=empty_store)))

    assert result["ok"], result
    assert result["store"] == ("sqlite" if empty_store is None else "postgresql")
    assert list(result["latency"]) == [*SHAPES, TOTAL]
    for name in SHAPES:
        figures = result["latency"][name]
        assert figures["requests"] == 20 and figures["errors"] == 0
        assert 0 < figures["page"] <= 50
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
    assert result["latency"][TOTAL]["requests"] == 20 * len(SHAPES)
    assert len(table(result).splitlines()) == 4 + len(SHAPES) + 1


def test_the_seed_is_spread_over_the_month_and_the_deep_cursor_is_halfway() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    rows = seed_rows(2000, now)
    ages = sorted(now - row["created_at"] for row in rows)
    assert ages[0] < timedelta(days=1) and timedelta(days=29) < ages[-1] <= timedelta(days=30)
    assert len({row["source"] for row in rows}) == 6
    assert all(0.5 <= row["score"] <= 1 for row in rows)
    cursor = shapes(rows, now)["deep cursor"]["cursor"]
    created, _, comment_id = base64.urlsafe_b64decode(cursor).decode().partition("|")
    newer = [r for r in rows if r["withdrawn_at"] is None
             and r["created_at"] > datetime.fromisoformat(created)]
    standing = sum(r["withdrawn_at"] is None for r in rows)
    assert abs(len(newer) - standing // 2) <= 1 and comment_id


def test_a_store_that_holds_alerts_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/yuqing.db"
    upgrade(url)
    run(Settings(), alerts=50, requests=2, database_url=url)
    with pytest.raises(ApiBenchError, match="already holds 50 alerts"):
        run(Settings(), alerts=50, requests=2, database_url=url)
    done = yuqing("bench", "api", "--alerts", "50", "--database-url", url)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == ("yuqing: error: the store already holds 50 alerts; "
                                            "the API bench fills an empty one (give a new "
                                            "database)")
