"""Surge detection on the demo data, through the broker and the real job: a burst about one
brand raises exactly one surge, the steady trickles about both brands none."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devkit.surge_demo import (
    BURST_BRAND,
    BURST_SIZE,
    BURST_WINDOW,
    WINDOWS,
    run_surge_demo,
    timeline,
)
from pipeline.config import Settings


def test_the_timeline_is_three_hours_of_trickle_with_one_burst() -> None:
    now = datetime(2026, 11, 30, 12, 34, tzinfo=UTC)
    comments = timeline(now, 600)
    first = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert comments[0].arrived_at > first and comments[-1].arrived_at < now.replace(minute=30)
    per_window = [sum(1 for c in comments if c.arrived_at - first < timedelta(minutes=10 * (w + 1))
                      and c.arrived_at - first >= timedelta(minutes=10 * w))
                  for w in range(WINDOWS)]
    assert per_window[BURST_WINDOW] == max(per_window) >= BURST_SIZE
    assert max(n for w, n in enumerate(per_window) if w != BURST_WINDOW) <= 5
    assert len({c.record.id for c in comments}) == len(comments)


@pytest.mark.integration
def test_a_burst_about_one_brand_raises_one_surge_and_the_trickles_none(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'surge.db'}")

    report = run_surge_demo(settings, idle_stop_s=2)

    assert report.pipeline.scored == report.comments and report.pipeline.dead_letters == 0
    [surge] = report.surges
    assert (surge.subject_kind, surge.subject) == ("keyword", BURST_BRAND)
    assert surge.window_start.replace(tzinfo=UTC) == report.burst_window
    assert surge.count > surge.threshold >= settings.surge_min_count
    assert surge.baseline_mean < 3 and len(surge.top_comments) == 5
