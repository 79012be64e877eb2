"""Writing to the store from the job: one transaction per bundle, before the bundle commits.

A store that cannot be reached (a database failing over, a restart, a locked SQLite file) is
waited out: the write is retried with capped exponential backoff for up to
``store_retry_max_s``. Meanwhile the bundle does not finish, so its offsets stay uncommitted and
nothing is lost if the job dies. Errors in the rows or the schema are not waited out: retrying
cannot fix them, so they fail the bundle at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import apache_beam as beam
from apache_beam.metrics import Metrics
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from pipeline.config import Settings
from pipeline.store.engine import StoreError, display_url, make_engine
from pipeline.stream import progress

log = logging.getLogger(__name__)

_DEFAULTS = Settings.model_fields


class StoreUnavailable(StoreError):
    """The store stayed unreachable longer than the job may wait; the bundle was not committed."""


@dataclass(frozen=True)
class StoreRetry:
    """How :class:`WriteRows` waits out an unreachable store.

    The first pauses are short because most outages are blips; the cap keeps a store that
    returns after a long fail-over from sitting idle for minutes before the next attempt.
    """

    max_s: float = _DEFAULTS["store_retry_max_s"].default
    backoff_max_s: float = _DEFAULTS["store_retry_backoff_max_s"].default
    first_backoff_s: float = 0.5
    warn_every_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(max_s=settings.store_retry_max_s,
                   backoff_max_s=settings.store_retry_backoff_max_s)

    def backoff_s(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1-based)."""
        return min(self.first_backoff_s * 2 ** (attempt - 1), self.backoff_max_s)


def is_transient(error: DBAPIError) -> bool:
    """Whether the store failing to take a write may pass by itself: the connection or the server,
    not the rows or the SQL."""
    return isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated


class WriteRows(beam.DoFn):
    """Buffer a bundle's rows and write them in one transaction before the bundle ends.

    Writing in ``finish_bundle`` is what makes the source's offset commit safe: the runner
    finalizes (commits) a bundle only after this has returned, so the write must either succeed
    or raise, never be dropped.
    """

    def __init__(self, database_url: str, write: Callable[[Session, list[Any]], None],
                 counter: str, retry: StoreRetry | None = None) -> None:
        self._database_url = database_url
        self._where = display_url(database_url)
        self._write = write
        self._retry = retry or StoreRetry()
        self._counter = counter
        self._written = Metrics.counter("yuqing", counter)
        self._engine: Engine | None = None

    def setup(self) -> None:
        self._engine = make_engine(self._database_url)

    def start_bundle(self) -> None:
        self._rows: list[Any] = []

    def process(self, row: Any) -> None:
        self._rows.append(row)

    def finish_bundle(self) -> None:
        if not self._rows:
            return
        self._write_until_stored()
        self._written.inc(len(self._rows))
        progress.add(self._counter, len(self._rows))
        self._rows = []

    def teardown(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def _write_until_stored(self) -> None:
        assert self._engine is not None, "setup() opens the engine"
        attempts = _Attempts(self._where, self._retry)
        while True:
            try:
                with Session(self._engine) as session, session.begin():
                    self._write(session, self._rows)
            except DBAPIError as error:
                if not is_transient(error):
                    raise
                # Connections opened before the failure may be dead; the next attempt opens anew.
                self._engine.dispose()
                time.sleep(attempts.failed(error))
            else:
                attempts.succeeded()
                return


class _Attempts:
    """The attempts at writing one bundle: their backoff, the outage's warnings, its end.

    A warning at the first failure and then one every ``warn_every_s``, rather than one per
    attempt: a fail-over would otherwise fill the log with the same line.
    """

    def __init__(self, where: str, retry: StoreRetry) -> None:
        self._where = where
        self._retry = retry
        self._started = time.monotonic()
        self._failed = 0
        self._warned_at: float | None = None

    def failed(self, error: DBAPIError) -> float:
        """Note a failed attempt; return how long to wait before the next one, or raise
        :class:`StoreUnavailable` once the store has been unreachable for ``max_s``."""
        self._failed += 1
        now = time.monotonic()
        down_s = now - self._started
        if down_s >= self._retry.max_s:
            raise StoreUnavailable(
                f"store at {self._where} unreachable for {down_s:.0f} s ({self._failed} "
                f"attempts, limit store_retry_max_s={self._retry.max_s:g}): {_cause(error)}; "
                "the bundle's offsets were not committed, so a restart resumes from them"
            ) from None
        if self._warned_at is None or now - self._warned_at >= self._retry.warn_every_s:
            self._warned_at = now
            log.warning("store at %s unreachable for %.0f s (attempt %d): %s; retrying, "
                        "offsets held", self._where, down_s, self._failed, _cause(error))
        return min(self._retry.backoff_s(self._failed), self._retry.max_s - down_s)

    def succeeded(self) -> None:
        if self._failed:
            log.info("store at %s is back after %.0f s (%d failed attempts); writing on",
                     self._where, time.monotonic() - self._started, self._failed)


def _cause(error: DBAPIError) -> str:
    """The driver's own message, first line only: SQLAlchemy's adds the statement, its
    parameters (rows of comment text) and a link."""
    lines = str(error.orig).strip().splitlines()
    return lines[0] if lines else type(error.orig).__name__
