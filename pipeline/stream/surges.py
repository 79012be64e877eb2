"""Surge detection: a keyword or a source whose negative comments jump well above its own
recent level raises one surge, not one alert per comment.

Each negative comment counts, once, for every watched keyword it mentions, or for its source
when it mentions none (its *subjects*), in the fixed window of ``surge_window_s`` in which it
was crawled (``crawled_at``: when Yuqing received it; the job's event time is the Kafka
timestamp the crawler's producer set a moment later). When the watermark passes a window's
end, the window is judged against the subject's baseline, an exponentially weighted moving mean and
variance of its earlier windows' counts (windows without negatives count as 0):

    threshold = max(surge_min_count, mean + surge_factor * max(std, 1))

A window above the threshold, once the baseline has seen ``surge_warmup_windows`` windows, is a
surge; the windows right after it that stay above are the same episode and raise nothing more.
Every judged window then updates the baseline, so a lasting new level becomes the new normal.

Why the receiving time and not the publication time: crawls are scheduled minutes apart and
read pages newest first, so comments arrive out of publication order; judging publication
windows would mean holding every window open for the longest crawl interval. A comment
published more than ``surge_max_age_s`` before it arrived (a new source's history, a crawl
catching up after an outage) is not counted: it is news from the past, not a surge now.

Why not the source as well as the keyword: then one burst about a brand would be two surges,
the brand's and its source's. A source is a subject for what no watched keyword explains; with
no keywords configured, every source is watched as a whole.

Why ``crawled_at`` rather than the element's timestamp: RunInference batches comments in the
global window and emits every result at its end, so the Kafka timestamp does not survive
scoring; the record's own time does.

The state is the runner's keyed state: checkpointed on Flink; on the local runner a restart
starts each baseline afresh (and waits out the warm-up again).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import apache_beam as beam
from apache_beam.coders import BooleanCoder, FloatCoder, StrUtf8Coder, TupleCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.utils.timestamp import Timestamp

from pipeline.alerts import Scored
from pipeline.config import Settings
from pipeline.records import Label, Surge, SurgeComment, SurgeSubject

TOP_COMMENTS = 5
"""How many of a surge's most negative comments it names."""
MAX_GAP_WINDOWS = 1000
"""Empty windows past this many change a baseline no further (it has decayed to nothing)."""

Subject = tuple[str, str]  # (SurgeSubject value, name)
Vote = tuple[int, str, float, str]  # a negative comment: (crawled at in µs, id, score, text)


@dataclass(frozen=True)
class SurgeParams:
    window_s: int
    alpha: float
    factor: float
    min_count: int
    warmup_windows: int
    max_age_s: int

    @classmethod
    def from_settings(cls, settings: Settings) -> SurgeParams:
        return cls(window_s=settings.surge_window_s, alpha=settings.surge_alpha,
                   factor=settings.surge_factor, min_count=settings.surge_min_count,
                   warmup_windows=settings.surge_warmup_windows,
                   max_age_s=settings.surge_max_age_s)


@dataclass(frozen=True)
class Baseline:
    """A subject's normal level: the moving mean and variance of its window counts, how many
    windows they have seen, the last window judged, and whether that one was in a surge."""

    mean: float = 0.0
    variance: float = 0.0
    windows: int = 0
    last_window: int = -1  # start in microseconds; -1 before the first
    surging: bool = False

    def threshold(self, params: SurgeParams) -> float:
        return max(float(params.min_count),
                   self.mean + params.factor * max(math.sqrt(self.variance), 1.0))

    def updated(self, count: int, alpha: float) -> Baseline:
        """The baseline after one more window (West's incremental EWMA variance)."""
        if self.windows == 0:
            return replace(self, mean=float(count), variance=0.0, windows=1)
        delta = count - self.mean
        return replace(self, mean=self.mean + alpha * delta,
                       variance=(1 - alpha) * (self.variance + alpha * delta * delta),
                       windows=self.windows + 1)


_BASELINE_CODER = TupleCoder([FloatCoder(), FloatCoder(), VarIntCoder(), VarIntCoder(),
                              BooleanCoder()])


def subjects(scored: Scored, params: SurgeParams) -> Iterator[tuple[Subject, Vote]]:
    """A negative comment's votes: one per watched keyword it mentions, or one for its source
    if it mentions none, unless it was written too long before it arrived. Keyed for
    :class:`DetectSurges`; the window is left to it (it reads the element's timestamp)."""
    row = scored.row
    if row.label != Label.NEGATIVE:
        return
    if row.published_at is not None and (
            row.crawled_at - row.published_at > timedelta(seconds=params.max_age_s)):
        Metrics.counter("yuqing", "surge_too_old").inc()
        return
    vote = (_micros(row.crawled_at), row.comment_id, row.score, row.raw_text)
    for keyword in dict.fromkeys(row.keywords):
        yield (SurgeSubject.KEYWORD.value, keyword), vote
    if not row.keywords:
        yield (SurgeSubject.SOURCE.value, row.source), vote


class DetectSurges(beam.DoFn):
    """Count a subject's negatives per window and judge each window when the watermark passes
    its end (see the module's docstring). Keyed by subject; emits :class:`Surge`.

    One timer per key, set to the earliest window still open: a later window never pushes an
    earlier one's judgement back.
    """

    # (window start in microseconds, comment id, score, text)
    VOTES = BagStateSpec("votes", TupleCoder([VarIntCoder(), StrUtf8Coder(), FloatCoder(),
                                              StrUtf8Coder()]))
    BASELINE = ReadModifyWriteStateSpec("baseline", _BASELINE_CODER)
    NEXT_CLOSE = ReadModifyWriteStateSpec("next_close", VarIntCoder())
    CLOSE = TimerSpec("close", TimeDomain.WATERMARK)

    def __init__(self, params: SurgeParams) -> None:
        self._params = params
        self._window_us = params.window_s * 1_000_000
        self._late = Metrics.counter("yuqing", "surge_late")
        self._raised = Metrics.counter("yuqing", "surges")

    def process(
        self,
        element: tuple[Subject, Vote],
        votes: Any = beam.DoFn.StateParam(VOTES),
        baseline_state: Any = beam.DoFn.StateParam(BASELINE),
        next_close: Any = beam.DoFn.StateParam(NEXT_CLOSE),
        close: Any = beam.DoFn.TimerParam(CLOSE),
    ) -> None:
        _, (crawled_us, comment_id, score, text) = element
        window = crawled_us // self._window_us * self._window_us
        if window <= _baseline(baseline_state).last_window:
            self._late.inc()  # its window was judged already
            return
        votes.add((window, comment_id, score, text))
        end = window + self._window_us
        pending = next_close.read()
        if pending is None or end < pending:
            next_close.write(end)
            close.set(Timestamp(micros=end))

    @on_timer(CLOSE)
    def judge(
        self,
        key: Subject = beam.DoFn.KeyParam,
        fired_at: Timestamp = beam.DoFn.TimestampParam,
        votes: Any = beam.DoFn.StateParam(VOTES),
        baseline_state: Any = beam.DoFn.StateParam(BASELINE),
        next_close: Any = beam.DoFn.StateParam(NEXT_CLOSE),
        close: Any = beam.DoFn.TimerParam(CLOSE),
    ) -> Iterator[Surge]:
        by_window: dict[int, dict[str, tuple[float, str]]] = {}
        for window, comment_id, score, text in votes.read():
            by_window.setdefault(window, {})[comment_id] = (score, text)
        due = sorted(window for window in by_window
                     if window + self._window_us <= fired_at.micros)
        baseline = _baseline(baseline_state)
        for window in due:
            baseline, surge = self._judge(key, baseline, window, by_window.pop(window))
            if surge is not None:
                self._raised.inc()
                yield surge
        baseline_state.write(_encode(baseline))
        votes.clear()
        for window, comments in by_window.items():
            for comment_id, (score, text) in comments.items():
                votes.add((window, comment_id, score, text))
        if by_window:
            end = min(by_window) + self._window_us
            next_close.write(end)
            close.set(Timestamp(micros=end))
        else:
            next_close.clear()

    def _judge(self, key: Subject, baseline: Baseline, window: int,
               comments: dict[str, tuple[float, str]]) -> tuple[Baseline, Surge | None]:
        """Judge one window: first the empty windows since the last judged one, then it."""
        params = self._params
        if baseline.last_window >= 0:
            gap = (window - baseline.last_window) // self._window_us - 1
            for _ in range(min(gap, MAX_GAP_WINDOWS)):
                baseline = replace(baseline.updated(0, params.alpha), surging=False)
        count = len(comments)
        threshold = baseline.threshold(params)
        above = baseline.windows >= params.warmup_windows and count > threshold
        surge = None
        if above and not baseline.surging:
            top = sorted(comments.items(), key=lambda item: (-item[1][0], item[0]))[:TOP_COMMENTS]
            surge = Surge(
                subject_kind=SurgeSubject(key[0]), subject=key[1],
                window_start=_instant(window), window_end=_instant(window + self._window_us),
                count=count, baseline_mean=round(baseline.mean, 3),
                baseline_std=round(math.sqrt(baseline.variance), 3),
                threshold=round(threshold, 3),
                top_comments=tuple(SurgeComment(comment_id, text, score)
                                   for comment_id, (score, text) in top))
        return replace(baseline.updated(count, params.alpha), last_window=window,
                       surging=above), surge


class FindSurges(beam.PTransform):
    """Scored comments → the surges they make (see the module's docstring)."""

    def __init__(self, params: SurgeParams) -> None:
        super().__init__()
        self._params = params

    def expand(self, scored: beam.PCollection[Scored]) -> beam.PCollection[Surge]:
        return (
            scored
            | "Subjects" >> beam.FlatMap(subjects, self._params)
            .with_output_types(tuple[Subject, Vote])
            | "Judge" >> beam.ParDo(DetectSurges(self._params))
        )


def _baseline(state: Any) -> Baseline:
    stored = state.read()
    return Baseline(*stored) if stored is not None else Baseline()


def _encode(baseline: Baseline) -> tuple[float, float, int, int, bool]:
    return (baseline.mean, baseline.variance, baseline.windows, baseline.last_window,
            baseline.surging)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)

