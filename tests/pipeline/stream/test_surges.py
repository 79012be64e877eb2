"""Surge detection, driven deterministically by TestStream: the watermark moves only when the
test says, so each window is judged exactly when the test expects."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that
from apache_beam.transforms.window import TimestampedValue

from pipeline.alerts import Scored
from pipeline.records import AlertRow, Surge, SurgeSubject
from pipeline.stream.surges import Baseline, FindSurges, SurgeParams

PARAMS = SurgeParams(window_s=600, alpha=0.1, factor=3.0, min_count=5, warmup_windows=6,
                     max_age_s=3600)
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
ROW = AlertRow(
    comment_id="x", source="weibo", url="http://127.0.0.1/x", author=None, published_at=None,
    crawled_at=T0, raw_text="差评", clean_text="差评", tokens=["差评"], keywords=["华为"],
    label="negative", score=0.9, model="lstm", model_version="lstm-1", kafka_topic="comments",
    kafka_partition=0, kafka_offset=0,
)


def _comment(n: int, at: datetime, keyword: str, label: str = "negative",
             score: float = 0.9, published_at: datetime | None = None) -> TimestampedValue:
    """Comment ``n`` about ``keyword`` (none if empty), received at ``at``."""
    row = replace(ROW, comment_id=f"{keyword}-{n}", keywords=[keyword] if keyword else [],
                  label=label,
                  score=score, raw_text=f"{keyword} 差评 {n}", crawled_at=at,
                  published_at=published_at)
    return TimestampedValue(Scored(row, b"{}"), at.timestamp())


def _run(windows: list[list[TimestampedValue]], params: SurgeParams = PARAMS) -> list[Surge]:
    """Feed one list of comments per window, moving the watermark past each window's end."""
    stream = TestStream()
    for index, comments in enumerate(windows):
        if comments:
            stream = stream.add_elements(comments)
        stream = stream.advance_watermark_to(
            (T0 + timedelta(seconds=params.window_s * (index + 1))).timestamp())
    stream = stream.advance_watermark_to_infinity()
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    _FOUND.clear()
    with TestPipeline(options=options) as pipeline:
        assert_that(pipeline | stream | FindSurges(params), _collect)
    return sorted(_FOUND, key=lambda surge: (surge.window_start, surge.subject_kind, surge.subject))


# The runner pickles the steps, so a matcher can hand its result back only through a global:
# a module-level function is pickled by reference and runs in this process.
_FOUND: list[Surge] = []


def _collect(surges: list[Surge]) -> None:
    _FOUND.extend(surges)


def _window(index: int, second: int = 0) -> datetime:
    return T0 + timedelta(seconds=600 * index + second)


def _trickle(keyword: str, windows: int, per_window: int = 2, start: int = 0
             ) -> list[list[TimestampedValue]]:
    return [[_comment(1000 * w + i, _window(w, 30 * i + 1), keyword) for i in range(per_window)]
            for w in range(start, start + windows)]


def test_a_burst_for_one_brand_raises_exactly_one_surge_and_a_trickle_none() -> None:
    trickle = _trickle("小米", 12)
    huawei = _trickle("华为", 12, per_window=1)
    # Windows 8 and 9: twenty then fifteen negatives about 华为, one episode.
    for w, count in ((8, 20), (9, 15)):
        huawei[w] = [_comment(100 * w + i, _window(w, i + 1), "华为", score=0.8 + i / 100)
                     for i in range(count)]
    windows = [a + b for a, b in zip(trickle, huawei, strict=True)]
    surges = _run(windows)
    assert [(s.subject_kind, s.subject, s.window_start, s.count) for s in surges] == [
        (SurgeSubject.KEYWORD, "华为", _window(8), 20)]
    surge = surges[0]
    assert surge.window_end == _window(9)
    assert surge.baseline_mean == 1.0 and surge.threshold == 5.0
    assert [c.score for c in surge.top_comments] == pytest.approx([0.99, 0.98, 0.97, 0.96, 0.95])
    assert surge.top_comments[0].text == "华为 差评 819"


def test_no_surge_while_the_baseline_warms_up_or_below_the_minimum_count() -> None:
    # A new keyword's first hour is its baseline, however busy.
    assert _run([[_comment(i, _window(0, i), "OPPO") for i in range(30)]]) == []
    # Four negatives after silence: far above a zero baseline, but under the minimum of five.
    quiet = [[] for _ in range(8)] + [[_comment(i, _window(8, i), "vivo") for i in range(4)]]
    quiet[0] = [_comment(99, _window(0), "vivo")]
    assert _run(quiet) == []


def test_empty_windows_lower_the_baseline_so_a_later_burst_surges() -> None:
    # Busy for an hour (ten a window), silent for three: the mean falls to 7.29 and the spread
    # widens to 4.4, so the threshold is 20.6; twenty-five then surge, twenty would not.
    quiet_hour = [*_trickle("荣耀", 6, per_window=10), [], [], []]
    for burst, expected in ((20, []), (25, [(_window(9), 25)])):
        windows = [*quiet_hour, [_comment(5000 + i, _window(9, i), "荣耀") for i in range(burst)]]
        keyword_surges = [s for s in _run(windows) if s.subject_kind is SurgeSubject.KEYWORD]
        assert [(s.window_start, s.count) for s in keyword_surges] == expected
    assert (keyword_surges[0].baseline_mean, keyword_surges[0].threshold) == (7.29, 20.624)


def test_positives_and_old_comments_do_not_count() -> None:
    old = _window(8) - timedelta(hours=2)
    burst = [_comment(i, _window(8, i), "华为", label="positive", score=0.1) for i in range(20)]
    burst += [_comment(100 + i, _window(8, i), "华为", published_at=old) for i in range(20)]
    assert _run([*_trickle("华为", 8, per_window=1)[:8], burst]) == []


def test_a_comment_counts_once_per_window_however_often_it_arrives() -> None:
    again = [_comment(7, _window(8, i), "华为") for i in range(20)]  # one comment, re-sent
    assert _run([*_trickle("华为", 8, per_window=1), again]) == []


def test_the_baseline_is_an_ewma_of_the_counts() -> None:
    baseline = Baseline()
    for count in (2, 4):
        baseline = baseline.updated(count, 0.5)
    assert (baseline.mean, baseline.variance, baseline.windows) == (3.0, 1.0, 2)
    assert baseline.threshold(PARAMS) == 6.0


def test_comments_without_a_watched_keyword_count_for_their_source() -> None:
    unwatched = [[_comment(100 * w + i, _window(w, i), "") for i in range(count)]
                 for w, count in enumerate([1, 2, 1, 2, 1, 2, 1, 12])]
    assert [(s.subject_kind, s.subject, s.count) for s in _run(unwatched)] == [
        (SurgeSubject.SOURCE, "weibo", 12)]
