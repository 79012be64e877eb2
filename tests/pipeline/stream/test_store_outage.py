"""The job waits out a store outage: the session's real PostgreSQL server is stopped under the
running job for a minute while comments keep arriving, then started again. The job must end with
exactly the alerts a clean run gives, every offset committed, and the outage told in a few lines
rather than a traceback per attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from devkit.bench.faults import committed_offsets, trickle
from devkit.bench.reference import expected_alerts
from devkit.hostile import cycled_records, produce_records
from devkit.postgres import PostgresServer
from pipeline.config import Settings
from pipeline.store.engine import display_url, make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import Alert
from pipeline.stream.run import run
from tests.utils.background import InThread, wait_until
from tests.utils.store import drop_all_tables

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A fail-over's length, well past the old sink's three attempts (about 3 s).
OUTAGE_S = 60.0
# Records arrive this often while the store is down, so no partition sits idle through it.
TRICKLE_EVERY_S = 6.0
# --until-idle: longer than any gap between arrivals, so only the real end stops the job.
IDLE_S = 20.0


@pytest.fixture
def pg_settings(settings: Settings, postgres: PostgresServer) -> Iterator[Settings]:
    """The test broker and a migrated PostgreSQL store, emptied afterwards: the server is shared
    by the whole session, so it is started again if the test left it stopped, and every table
    this test made, ``alembic_version`` too, is dropped."""
    upgrade(postgres.url)
    yield settings.model_copy(update={"database_url": postgres.url})
    if not postgres.running():
        postgres.start()
    drop_all_tables(postgres.url)


def alert_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Alert)) or 0


def test_a_store_outage_of_a_minute_is_waited_out_without_losing_an_alert(
        pg_settings: Settings, postgres: PostgresServer,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pipeline")
    records = cycled_records(120)
    before, during = records[:60], records[60:]
    produce_records(pg_settings, before)
    engine = make_engine(pg_settings.database_url)

    job = InThread(lambda: run([f"--until-idle={IDLE_S}"], pg_settings))
    wait_until(lambda: alert_count(engine) > 0 or job.join(0), 180, "the first alerts stored")
    engine.dispose()
    postgres.stop()
    back_at = time.monotonic() + OUTAGE_S
    trickle(pg_settings, during, until=back_at, every_s=TRICKLE_EVERY_S)
    time.sleep(max(0.0, back_at - time.monotonic()))
    assert not job.join(0), f"the job ended while the store was down: {job.error!r}"
    postgres.start()

    assert job.join(300), "the job did not end after the store came back"
    assert job.error is None, job.error
    assert job.result is not None and job.result.read == len(records)
    assert committed_offsets(pg_settings) == len(records)
    want = expected_alerts(pg_settings, [(r.id, r.text) for r in records])
    with Session(engine) as session:
        stored = session.scalars(select(Alert.comment_id)).all()
    engine.dispose()
    assert len(stored) == len(set(stored))
    assert set(stored) == want

    where = display_url(pg_settings.database_url)
    messages = [r.getMessage() for r in caplog.records]
    outage = [m for m in messages if m.startswith(f"store at {where} unreachable for ")]
    assert 1 <= len(outage) <= 6, outage  # once a minute for each writer that had rows
    assert all(m.endswith("; retrying, offsets held") for m in outage), outage
    assert any(m.startswith(f"store at {where} is back after ") for m in messages), messages
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, tracebacks[0].getMessage()
