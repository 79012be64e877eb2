"""The progress line: its wording, its rate, and that it comes at most once per interval."""

from __future__ import annotations

import logging
import threading

import pytest

from pipeline.stream import progress
from pipeline.stream.progress import Counters, Reporter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_line_shows_totals_the_read_rate_and_lag_by_partition() -> None:
    counts = {"read": 12_345, "scored": 12_300, "alerts": 4_100, "dead_letters": 3}
    lags = {("comments", 10): 0, ("comments", 2): 1_200, ("comments.dead", 0): 0}

    line = progress.format_line(counts, 1020.4, lags)

    assert line == ("progress: read 12,345 (+1,020/min), scored 12,300, alerts 4,100, "
                    "dead letters 3; lag comments/2=1,200 comments/10=0 comments.dead/0=0")


def test_counters_nobody_added_to_show_as_zero_and_new_names_at_the_end() -> None:
    line = progress.format_line({"read": 5, "retries": 2}, 0, {})

    assert line == ("progress: read 5 (+0/min), scored 0, alerts 0, dead letters 0, retries 2")


def test_a_line_at_most_once_per_interval_with_the_rate_since_the_last(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pipeline.stream.progress")
    clock, counters = Clock(), Counters()
    counters.add("read", 100)  # before the reporter: not part of the first rate
    reporter = Reporter(60, counters, clock)

    counters.add("read", 1_020)
    reporter.record_lag("comments", 0, 7)
    clock.now += 59.9
    assert reporter.maybe_report() is None
    clock.now += 0.1
    first = reporter.maybe_report()
    assert first == ("progress: read 1,120 (+1,020/min), scored 0, alerts 0, dead letters 0; "
                     "lag comments/0=7")
    assert reporter.maybe_report() is None

    counters.add("read", 300)
    counters.add("scored", 1_400)
    clock.now += 90  # a late call: the rate is still per minute
    second = reporter.maybe_report()
    assert second == "progress: read 1,420 (+200/min), scored 1,400, alerts 0, dead letters 0"
    assert [r.getMessage() for r in caplog.records] == [first, second]


def test_the_shared_reporter_is_one_per_process_with_the_latest_interval() -> None:
    first = progress.shared_reporter(60)
    second = progress.shared_reporter(5)

    assert first is second
    assert second.interval_s == 5


def test_counters_add_up_across_threads() -> None:
    counters = Counters()

    def add_many() -> None:
        for _ in range(10_000):
            counters.add("scored")

    threads = [threading.Thread(target=add_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert counters.snapshot()["scored"] == 80_000
