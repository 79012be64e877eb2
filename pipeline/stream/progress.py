"""Running totals of the streaming job, and one progress line a minute while it runs.

``yuqing run`` has no other sign of life between start-up and shutdown, and Beam's metrics are
only reported when the job ends. So each step adds to a counter here as it goes (the reader
``read``; the scoring and writing steps ``scored``, ``alerts`` and ``dead_letters``), and the
reader asks the :class:`Reporter` after every poll whether a line is due.

The counters live in the process. On the local FnApiRunner that is the whole job; on a
distributed runner (Flink, Dataflow) each worker logs its own counts and the lag of the
partitions it reads, and the job-wide totals are Beam's metrics in the run's summary.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# The order of the progress line; a name added by other code is shown after these.
NAMES = ("read", "scored", "alerts", "dead_letters")
# The counter whose rate is shown: it is what tells an operator whether the job keeps up.
RATE_OF = "read"


class Counters:
    """Named totals that any thread may add to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(NAMES, 0)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


COUNTERS = Counters()


def add(name: str, n: int = 1) -> None:
    """Count ``n`` more of ``name`` (read, scored, alerts, dead_letters) in this process."""
    COUNTERS.add(name, n)


class Reporter:
    """Logs a progress line at most every ``interval_s`` seconds, when asked.

    Lags are those recorded since the previous line, so a partition this process no longer
    reads drops out of the line instead of showing a stale number forever.
    """

    def __init__(self, interval_s: float, counters: Counters = COUNTERS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self._counters = counters
        self._clock = clock
        self._lock = threading.Lock()
        self._lags: dict[tuple[str, int], int] = {}
        self._last_at = clock()
        self._last_rated = counters.snapshot().get(RATE_OF, 0)

    def record_lag(self, topic: str, partition: int, lag: int) -> None:
        """How many messages of ``topic``/``partition`` are waiting: high watermark - position."""
        with self._lock:
            self._lags[(topic, partition)] = lag

    def maybe_report(self) -> str | None:
        """Log and return the progress line if ``interval_s`` has passed since the last one."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._last_at
            if elapsed < self.interval_s:
                return None
            counts = self._counters.snapshot()
            rated = counts.get(RATE_OF, 0)
            line = format_line(counts, (rated - self._last_rated) * 60 / elapsed, self._lags)
            self._last_at, self._last_rated = now, rated
            self._lags = {}
        log.info("%s", line)
        return line


def format_line(counts: dict[str, int], per_minute: float,
                lags: dict[tuple[str, int], int]) -> str:
    """``progress: read 12,345 (+1,020/min), scored 12,300, …; lag comments/0=0 …``."""
    names = [*NAMES, *sorted(set(counts) - set(NAMES))]
    totals = []
    for name in names:
        total = f"{name.replace('_', ' ')} {counts.get(name, 0):,}"
        if name == RATE_OF:
            total += f" (+{round(per_minute):,}/min)"
        totals.append(total)
    line = "progress: " + ", ".join(totals)
    if lags:
        line += "; lag " + " ".join(f"{topic}/{partition}={lag:,}"
                                    for (topic, partition), lag in sorted(lags.items()))
    return line


_shared: Reporter | None = None
_shared_lock = threading.Lock()


def shared_reporter(interval_s: float) -> Reporter:
    """The process's one reporter, so that readers of several partitions log one line together.

    The latest caller's interval applies: every reader of a job is configured alike, and a
    later job in the same process (tests, the demo) brings its own.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Reporter(interval_s)
        _shared.interval_s = interval_s
        return _shared
