"""The job waits out a store outage: the session's real PostgreSQL server is stopped under the
running job for a minute while comments keep arriving, then started again. The job must end with
exactly the alerts a clean run gives, every offset committed, and the outage told in a few lines
rather than a traceback per attempt.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kafka import TopicPartition
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from pipeline.config import Settings
from pipeline.kafka import make_consumer
from pipeline.records import CommentRecord
from pipeline.store.engine import display_url, make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import Alert
from pipeline.stream.run import run
from tests.utils.background import InThread, wait_until
from tests.utils.factories import held_out_records, produce_records
from tests.utils.scoring import expected_alerts
from tests.utils.store import drop_all_tables

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A fail-over's length, well past the old sink's three attempts (about 3 s).
OUTAGE_S = 60.0
# Records arrive this often while the store is down, so no partition sits idle through it.
TRICKLE_EVERY_S = 6.0
# --until-idle: longer than any gap between arrivals, so only the real end stops the job.
IDLE_S = 20.0


@dataclass(frozen=True)
class PostgresServer:
    """What ``pg_ctl`` needs to stop and restart the server behind a URL. The session fixture
    yields only the URL, so the server is asked where it lives and how it listens."""

    pg_ctl: Path
    data_dir: Path
    options: str

    @classmethod
    def behind(cls, url: str) -> PostgresServer:
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                def setting(name: str) -> str:
                    return connection.execute(text("SELECT current_setting(:name)"),
                                              {"name": name}).scalar_one()

                major = int(setting("server_version_num")) // 10_000
                options = (f"-p {setting('port')} -h {setting('listen_addresses')} "
                           f"-k {setting('unix_socket_directories')}")
                return cls(Path(f"/usr/lib/postgresql/{major}/bin/pg_ctl"),
                           Path(setting("data_directory")), options)
        finally:
            engine.dispose()

    def stop(self) -> None:
        """A fast shutdown, as in a fail-over: open sessions are cut off mid-transaction."""
        self._pg_ctl("stop", "-m", "fast")

    def start(self) -> None:
        self._pg_ctl("start", "-l", str(self.data_dir.parent / "log"), "-o", self.options)

    def running(self) -> bool:
        return self._pg_ctl("status", check=False).returncode == 0

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["runuser", "-u", "postgres", "--", str(self.pg_ctl), "-D",
                               str(self.data_dir), "-w", *args],
                              capture_output=True, text=True, timeout=60, check=check)


@pytest.fixture
def server(postgres_url: str) -> PostgresServer:
    return PostgresServer.behind(postgres_url)


@pytest.fixture
def pg_settings(settings: Settings, postgres_url: str, server: PostgresServer
                ) -> Iterator[Settings]:
    """The test broker and a migrated PostgreSQL store, emptied afterwards: the server is shared
    by the whole session, so it is started again if the test left it stopped, and every table
    this test made, ``alembic_version`` too, is dropped."""
    upgrade(postgres_url)
    yield settings.model_copy(update={"database_url": postgres_url})
    if not server.running():
        server.start()
    drop_all_tables(postgres_url)


def alert_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Alert)) or 0


def trickle(settings: Settings, records: list[CommentRecord], until: float) -> None:
    """Produce ``records`` a few at a time, spread evenly up to monotonic time ``until``."""
    size = -(-len(records) // int(OUTAGE_S / TRICKLE_EVERY_S))
    for start in range(0, len(records), size):
        produce_records(settings, records[start:start + size])
        time.sleep(max(0.0, min(TRICKLE_EVERY_S, until - time.monotonic())))


def committed_offsets(settings: Settings) -> int:
    consumer = make_consumer(settings)
    try:
        partitions = [TopicPartition(settings.topic_comments, p)
                      for p in consumer.partitions_for_topic(settings.topic_comments)]
        return sum(consumer.committed(partition) or 0 for partition in partitions)
    finally:
        consumer.close()


def test_a_store_outage_of_a_minute_is_waited_out_without_losing_an_alert(
        pg_settings: Settings, server: PostgresServer,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pipeline")
    records = held_out_records(120)
    before, during = records[:60], records[60:]
    produce_records(pg_settings, before)
    engine = make_engine(pg_settings.database_url)

    job = InThread(lambda: run([f"--until-idle={IDLE_S}"], pg_settings))
    wait_until(lambda: alert_count(engine) > 0 or job.join(0), 180, "the first alerts stored")
    engine.dispose()
    server.stop()
    back_at = time.monotonic() + OUTAGE_S
    trickle(pg_settings, during, until=back_at)
    time.sleep(max(0.0, back_at - time.monotonic()))
    assert not job.join(0), f"the job ended while the store was down: {job.error!r}"
    server.start()

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
