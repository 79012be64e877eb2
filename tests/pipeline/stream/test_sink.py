"""WriteRows in a TestPipeline against real stores: a SQLite file, and stores that fail for
real (a refused connection, a file that cannot be opened), not mocks. The outage that ends is
in test_store_outage.py."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from sqlalchemy.orm import Session

from pipeline.broker import free_port
from pipeline.config import Settings
from pipeline.records import DeadLetter, Lineage
from pipeline.store.engine import display_url, make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import StoredDeadLetter
from pipeline.store.queries import add_dead_letters, select_dead_letters
from pipeline.stream.sink import StoreRetry, StoreUnavailable, WriteRows

SINK_LOGGER = "pipeline.stream.sink"
SECRET = "do-not-log-me"


def letters_to_write(count: int) -> list[DeadLetter]:
    return [DeadLetter(stage="parse", reason=f"r{i}", raw=b"x", lineage=Lineage(
        topic="comments", partition=0, offset=i)) for i in range(count)]


def test_write_rows_writes_each_bundle_to_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    with BeamTestPipeline() as pipeline:
        _ = (pipeline | beam.Create(letters_to_write(5))
             | beam.ParDo(WriteRows(url, add_dead_letters, "dead_letters")))
    with Session(make_engine(url)) as session:
        stored = select_dead_letters(session)
    assert sorted(letter.reason for letter in stored) == [f"r{i}" for i in range(5)]


def write_in_pipeline(url: str, write: Callable[[Session, list[Any]], None],
                      retry: StoreRetry) -> None:
    with BeamTestPipeline() as pipeline:
        _ = (pipeline | beam.Create(letters_to_write(3))
             | beam.ParDo(WriteRows(url, write, "dead_letters", retry)))


def refused_postgres(_tmp_path: Path) -> str:
    """A server that is down: nothing listens on the port, so every connect is refused."""
    return f"postgresql+psycopg://yuqing:{SECRET}@127.0.0.1:{free_port()}/yuqing"


def sqlite_on_a_directory(tmp_path: Path) -> str:
    """A SQLite file that cannot be opened. (Not an unwritable directory: root, which runs the
    tests here, writes there anyway; nor a locked file: make_engine waits 30 s on a lock.)"""
    (tmp_path / "store.db").mkdir()
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.mark.parametrize("unreachable", [refused_postgres, sqlite_on_a_directory])
def test_an_unreachable_store_is_retried_then_fails_in_one_line(
        unreachable: Callable[[Path], str], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SINK_LOGGER)
    url = unreachable(tmp_path)
    retry = StoreRetry(max_s=2, backoff_max_s=0.5)

    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as raised:
        write_in_pipeline(url, add_dead_letters, retry)

    assert time.monotonic() - started >= retry.max_s
    message = str(raised.value)
    assert "\n" not in message and SECRET not in message
    assert re.match(rf"store at {re.escape(display_url(url))} unreachable for [23] s "
                    r"\(\d+ attempts, limit store_retry_max_s=2\): ", message), message
    assert "offsets were not committed, so a restart resumes from them" in message
    # Warned once, at the first failure; the next warning would be due a minute later.
    warnings = [r.getMessage() for r in caplog.records if r.name == SINK_LOGGER]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"store at {display_url(url)} unreachable for ")
    assert "(attempt 1): " in warnings[0]
    assert warnings[0].endswith("; retrying, offsets held")


def test_a_row_the_store_rejects_fails_at_once(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SINK_LOGGER)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)

    def without_stage(session: Session, letters: list[DeadLetter]) -> None:
        session.add_all(StoredDeadLetter(reason=letter.reason, raw=letter.raw)
                        for letter in letters)

    with pytest.raises(Exception, match="IntegrityError"):
        write_in_pipeline(url, without_stage, StoreRetry(max_s=60))

    assert not [r for r in caplog.records if r.name == SINK_LOGGER]


def test_the_retry_bounds_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_STORE_RETRY_MAX_S", "45")
    monkeypatch.setenv("YUQING_STORE_RETRY_BACKOFF_MAX_S", "2.5")
    retry = StoreRetry.from_settings(Settings())
    assert (retry.max_s, retry.backoff_max_s) == (45, 2.5)


def test_backoff_doubles_up_to_its_cap() -> None:
    retry = StoreRetry(max_s=300, backoff_max_s=10, first_backoff_s=0.5)
    assert [retry.backoff_s(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]
