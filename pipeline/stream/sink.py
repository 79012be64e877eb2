"""Writing to the store from the job: one transaction per bundle, before the bundle commits."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pipeline.store.engine import make_engine
from pipeline.stream import progress

log = logging.getLogger(__name__)


class WriteRows(beam.DoFn):
    """Buffer a bundle's rows and write them in one transaction before the bundle ends.

    Writing in ``finish_bundle`` is what makes the source's offset commit safe: the runner
    finalizes (commits) a bundle only after this has returned.
    """

    def __init__(self, database_url: str, write: Callable[[Session, list[Any]], None],
                 counter: str, attempts: int = 3) -> None:
        self._database_url = database_url
        self._write = write
        self._attempts = attempts
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
        for attempt in range(1, self._attempts + 1):
            try:
                assert self._engine is not None, "setup() opens the engine"
                with Session(self._engine) as session, session.begin():
                    self._write(session, self._rows)
                break
            except OperationalError:
                if attempt == self._attempts:
                    raise
                log.warning("store write failed (attempt %d/%d); retrying", attempt,
                            self._attempts, exc_info=True)
                time.sleep(0.5 * 2**attempt)
        self._written.inc(len(self._rows))
        progress.add(self._counter, len(self._rows))
        self._rows = []

    def teardown(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
