"""Stopping the job with a signal: within seconds, with every stored comment's offset committed."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devkit.bench.faults import committed_offsets
from devkit.child import Child
from devkit.hostile import cycled_records, produce_records
from pipeline.config import Settings
from pipeline.store.engine import make_engine
from pipeline.store.models import Comment
from pipeline.stream import shutdown
from tests.utils.background import wait_until


def test_the_first_signal_requests_a_stop_and_the_second_stops_at_once() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with shutdown.stop_on_signals():
        assert not shutdown.requested()
        os.kill(os.getpid(), signal.SIGTERM)
        assert shutdown.requested()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before
    assert not shutdown.requested()


def _stored(settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(Comment)) or 0
    finally:
        engine.dispose()


@pytest.mark.integration
def test_sigterm_to_the_job_alone_stops_it_within_seconds_committing_what_it_stored(
        settings: Settings, tmp_path: Path) -> None:
    """As a supervisor stops it: SIGTERM to the job's process, not its group. It exits 0 within
    a few seconds, and every comment it stored has its offset committed, so a restart neither
    loses nor re-reads any."""
    records = cycled_records(400)
    produce_records(settings, records[:200])
    job = Child(["run"], settings, tmp_path / "job.log")
    try:
        wait_until(lambda: committed_offsets(settings) >= 200 or job.poll() is not None, 120,
                   "the first 200 offsets committed", poll_s=0.2)
        produce_records(settings, records[200:])
        wait_until(lambda: _stored(settings) > 200, 30, "the second wave to be stored")
        job.send(signal.SIGTERM)
        status = job.wait(10)
    finally:
        job.kill()
    log = job.log_text()
    assert status == 0, f"the job did not stop by itself within 10 s:\n{log[-3000:]}"
    assert "SIGTERM: stopping" in log
    assert committed_offsets(settings) == _stored(settings), log[-3000:]
