"""Run a job in a thread, so a test can break the broker or the store under it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.runners import LOCAL_OPTIONS


class InThread:
    """``work()`` in a daemon thread; its result or its exception is kept for the test."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._work = work
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._work()
        except BaseException as exc:  # handed to the test thread
            self.error = exc

    def join(self, timeout_s: float) -> bool:
        """Whether the work ended within ``timeout_s``."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str,
               poll_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(poll_s)


def run_locally(build: Callable[[beam.Pipeline], object]) -> None:
    """A pipeline of the test's own on the local runner the job uses, run to its end."""
    with beam.Pipeline(options=PipelineOptions(LOCAL_OPTIONS)) as pipeline:
        build(pipeline)
