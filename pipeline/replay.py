"""Re-score stored comments with another model, version or threshold: first what would change,
then, when asked, the change.

Each stored comment goes through the job's own steps: the text stage
(:class:`~pipeline.text.stage.TextStage`: clean, correct, segment, match keywords), the scorer's
encoding and RunInference handler, and the settings' per-source
:class:`~pipeline.records.Thresholds`. What would change is
judged against the comment's stored label and score: a comment now negative that was not raises
an alert, one now positive that was negative withdraws its alert.

Applying writes each re-scored comment through :func:`~pipeline.store.queries.record_scores`,
the job's own path, with the comment's own Kafka lineage and crawl time. The store treats a
version at the same position as the newest one, so the new score replaces the old, while a
newer version the job stores meanwhile still wins over the replayed one. Nothing is notified:
a replay is an operator's deliberate act, and its report lists what it raised.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pipeline.config import Settings
from pipeline.records import AlertRow, Label, Thresholds
from pipeline.scoring import Scorer
from pipeline.store.models import Comment
from pipeline.store.queries import record_scores
from pipeline.store.replay import comment_batch, count_comments
from pipeline.text.clean import TextRejected
from pipeline.text.stage import ProcessedText, TextStage

log = logging.getLogger(__name__)

SHIFT = 0.1
"""A score that moved by more than this is reported even when its label stayed."""


@dataclass(frozen=True)
class Change:
    """One comment whose label or score the new model changes."""

    comment_id: str
    source: str
    text: str
    old_label: str
    new_label: str
    old_score: float
    new_score: float
    old_model_version: str

    @property
    def delta(self) -> float:
        return self.new_score - self.old_score


@dataclass
class Examples:
    """How many changes of one kind, and the largest of them (by how far the score moved)."""

    keep: int
    count: int = 0
    _heap: list[tuple[float, str, Change]] = field(default_factory=list)

    def add(self, change: Change) -> None:
        self.count += 1
        item = (abs(change.delta), change.comment_id, change)
        if len(self._heap) < self.keep:
            heapq.heappush(self._heap, item)
        elif self.keep:
            heapq.heappushpop(self._heap, item)

    def largest(self) -> list[Change]:
        return [change for _, _, change in sorted(self._heap, reverse=True)]


@dataclass
class Filters:
    """Which stored comments to re-score; ``since``/``until`` bound when a comment was written
    (published, else crawled)."""

    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None
    limit: int | None = None  # at most this many comments, in comment-id order


@dataclass
class ReplayReport:
    model: str
    model_version: str
    thresholds: Thresholds
    applied: bool
    examples: int
    selected: int = 0  # comments the filters kept (before --limit)
    rescored: int = 0
    refused: int = 0  # comments the text stage refuses now (too long, empty after cleaning)
    raised: Examples = field(init=False)  # positive before, negative now: an alert is raised
    withdrawn: Examples = field(init=False)  # negative before, positive now: withdrawn
    shifted: Examples = field(init=False)  # the score moved by more than SHIFT, either way

    def __post_init__(self) -> None:
        self.raised, self.withdrawn, self.shifted = (Examples(self.examples) for _ in range(3))

    def as_dict(self) -> dict[str, Any]:
        kinds = {"raised": self.raised, "withdrawn": self.withdrawn, "shifted": self.shifted}
        return {
            "model": self.model, "model_version": self.model_version,
            "threshold": self.thresholds.default, "source_thresholds": self.thresholds.by_source,
            "applied": self.applied, "selected": self.selected,
            "rescored": self.rescored, "refused": self.refused,
            **{name: kind.count for name, kind in kinds.items()},
            "examples": {name: [{**asdict(change), "delta": round(change.delta, 4)}
                                for change in kind.largest()] for name, kind in kinds.items()},
        }  # fmt: skip


class Rescorer:
    """The job's text stage and one scorer, loaded once, scoring stored comments in batches."""

    def __init__(self, settings: Settings, scorer: Scorer) -> None:
        self.scorer = scorer
        self.thresholds = settings.thresholds
        self.text_stage = TextStage.load(settings)
        self.handler = scorer.model_handler()
        self.model = self.handler.load_model()

    def rescore(self, comments: Sequence[Comment]) -> list[tuple[Comment, AlertRow] | None]:
        """Each comment's new row, or None where the text stage now refuses its text."""
        processed = self.text_stage.process_batch([comment.raw_text for comment in comments])
        accepted = [(comment, text) for comment, text in zip(comments, processed, strict=True)
                    if not isinstance(text, TextRejected)]
        inputs = [self.scorer.encode(text.text, list(text.tokens)) for _, text in accepted]
        results = self.handler.run_inference(inputs, self.model) if inputs else []
        rows = iter([(comment, self._row(comment, text, self.scorer.negative_probability(result)))
                     for (comment, text), result in zip(accepted, results, strict=True)])
        return [None if isinstance(text, TextRejected) else next(rows) for text in processed]

    def _row(self, comment: Comment, text: ProcessedText, score: float) -> AlertRow:
        return AlertRow(
            comment_id=comment.comment_id, source=comment.source, url=comment.url,
            author=comment.author, published_at=comment.published_at,
            crawled_at=comment.crawled_at, raw_text=comment.raw_text, clean_text=text.text,
            tokens=list(text.tokens), keywords=list(text.keywords),
            label=self.thresholds.label(score, comment.source).value, score=score,
            model=self.scorer.name, model_version=self.scorer.version,
            kafka_topic=comment.kafka_topic, kafka_partition=comment.kafka_partition,
            kafka_offset=comment.kafka_offset,
        )  # fmt: skip


def compare(report: ReplayReport, comment: Comment, row: AlertRow) -> None:
    """Count what the new row changes against the stored comment."""
    change = Change(comment.comment_id, comment.source, comment.raw_text, comment.label,
                    row.label, comment.score, row.score, comment.model_version)
    was, now = comment.label == Label.NEGATIVE, row.label == Label.NEGATIVE
    if now and not was:
        report.raised.add(change)
    elif was and not now:
        report.withdrawn.add(change)
    if abs(change.delta) > SHIFT:
        report.shifted.add(change)


def replay(
    engine: Engine,
    rescorer: Rescorer,
    filters: Filters,
    *,
    apply: bool = False,
    batch_size: int = 256,
    examples: int = 10,
    progress: Callable[[int, int], Any] | None = None,
) -> ReplayReport:
    """Re-score the comments ``filters`` keep, batch by batch; with ``apply``, write each batch
    in its own transaction as it is scored (a replay stopped half-way can be run again: the
    comments it already wrote score the same). After each batch, ``progress`` hears how many
    comments it held and how many the replay takes in all.
    """
    scorer = rescorer.scorer
    report = ReplayReport(model=scorer.name, model_version=scorer.version,
                          thresholds=rescorer.thresholds, applied=apply, examples=examples)
    where = {"since": filters.since, "until": filters.until, "source": filters.source}
    with Session(engine) as session:
        report.selected = count_comments(session, **where)
    todo = min(report.selected, filters.limit or report.selected)
    left, after = todo, None
    while left > 0:
        with Session(engine, expire_on_commit=False) as session:
            batch = comment_batch(session, after=after, limit=min(batch_size, left), **where)
        if not batch:
            break
        after, left = batch[-1].comment_id, left - len(batch)
        scored = [pair for pair in rescorer.rescore(batch) if pair is not None]
        report.refused += len(batch) - len(scored)
        report.rescored += len(scored)
        for comment, row in scored:
            compare(report, comment, row)
        if apply and scored:
            with Session(engine) as session, session.begin():
                record_scores(session, [row for _, row in scored])
        if progress is not None:
            progress(len(batch), todo)
    log.info("replay with %s %s at threshold %s: %d comments re-scored, %d refused; "
             "%d alerts %s raised, %d withdrawn; %d scores moved by more than %.1f",
             scorer.name, scorer.version, rescorer.thresholds.describe(), report.rescored,
             report.refused,
             report.raised.count, "were" if apply else "would be", report.withdrawn.count,
             report.shifted.count, SHIFT)
    return report
