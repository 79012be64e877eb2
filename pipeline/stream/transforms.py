"""The pipeline's steps as DoFns: each wraps a plain domain function in a few lines.

Every per-comment step emits a :class:`~pipeline.records.DeadLetter` on the ``dead`` output
instead of raising, for a refusal and for an exception nobody foresaw alike: an exception out of
a DoFn fails the bundle, which the stream then retries forever, so one message would stop it.
Every letter keeps the bytes that arrived, never a re-serialised record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import PredictionResult

from pipeline.alerts import Prepared, Scored, alert_row
from pipeline.records import (
    CommentRecord,
    DeadLetter,
    Label,
    Lineage,
    RecordError,
    Thresholds,
    error_reason,
    parse_dead_letter,
    parse_record,
)
from pipeline.stream import progress
from pipeline.stream.source import KafkaMessage
from pipeline.text.stage import ProcessedText

log = logging.getLogger(__name__)

DEAD = "dead"


@dataclass(frozen=True)
class Received:
    """A valid comment with the Kafka message it came in: its position and its exact bytes."""

    record: CommentRecord
    lineage: Lineage
    raw: bytes


def _lineage(message: KafkaMessage) -> Lineage:
    return Lineage(topic=message.topic, partition=message.partition, offset=message.offset)


def _reason(error: Exception) -> str:
    """A refusal's own reason, or an unforeseen exception in one line."""
    return error.reason if isinstance(error, RecordError) else error_reason(error)


def _letter(stage: str, comment: Received | Prepared, reason: str) -> DeadLetter:
    return DeadLetter(stage=stage, reason=reason, raw=comment.raw, record_id=comment.record.id,
                      lineage=comment.lineage)


class ParseRecord(beam.DoFn):
    """Kafka bytes → a :class:`Received` comment, or a dead letter saying why not."""

    def process(self, message: KafkaMessage) -> Iterator[Any]:
        try:
            record = parse_record(message.value)
        except Exception as exc:
            yield beam.pvalue.TaggedOutput(DEAD, DeadLetter(
                stage="parse", reason=_reason(exc), raw=message.value or b"",
                lineage=_lineage(message)))
            return
        yield Received(record, _lineage(message), message.value or b"")


def read_dead_letter(message: KafkaMessage) -> DeadLetter:
    """A dead letter from the dead-letter topic (the crawler's), placed where it was read.

    Its lineage becomes its position on that topic, so a replay stores it once; one that cannot
    be read is itself kept as a dead letter, raw bytes and all.
    """
    try:
        letter = parse_dead_letter(message.value)
    except Exception as exc:
        return DeadLetter(stage="dead-letter-topic", reason=_reason(exc),
                          raw=message.value or b"", lineage=_lineage(message))
    return letter.model_copy(update={"lineage": _lineage(message)})


def prepared(element: tuple[Received, ProcessedText]) -> Prepared:
    comment, text = element
    return Prepared(record=comment.record, lineage=comment.lineage, raw=comment.raw,
                    clean_text=text.text, tokens=list(text.tokens), keywords=list(text.keywords))


def rejected_letter(element: tuple[Received, str]) -> DeadLetter:
    comment, reason = element
    return _letter("text", comment, reason)


class Encode(beam.DoFn):
    """Prepared comment → ``(comment, model input)``; one the scorer cannot encode becomes a
    dead letter rather than failing the bundle it is in."""

    def __init__(self, encode: Callable[[str, list[str]], Any]) -> None:
        self._encode = encode

    def process(self, comment: Prepared) -> Iterator[Any]:
        try:
            example = self._encode(comment.clean_text, comment.tokens)
        except Exception as exc:
            yield beam.pvalue.TaggedOutput(DEAD, _letter("score", comment, error_reason(exc)))
            return
        yield comment, example


class Decide(beam.DoFn):
    """Model output → a labelled :class:`~pipeline.records.AlertRow` for every comment, with the
    bytes it arrived in (a :class:`~pipeline.alerts.Scored`); counts what it saw, and the
    negatives among it as alerts.

    Positives go on to the store as well, which withdraws the alert of an earlier negative
    version of the same comment. A result it cannot read (a model returning something odd for
    one comment) becomes that comment's dead letter.
    """

    def __init__(self, model: str, version: str, thresholds: Thresholds,
                 probability: Callable[[PredictionResult], float]) -> None:
        self._model, self._version, self._thresholds = model, version, thresholds
        self._probability = probability
        self._scored = Metrics.counter("yuqing", "scored")
        self._alerts = Metrics.counter("yuqing", "alerts")

    def process(self, element: tuple[Prepared, PredictionResult]) -> Iterator[Any]:
        comment, result = element
        try:
            threshold = self._thresholds.for_source(comment.record.source)
            row = alert_row(comment, self._probability(result), model=self._model,
                            model_version=self._version, threshold=threshold)
        except Exception as exc:
            yield beam.pvalue.TaggedOutput(DEAD, _letter("score", comment, error_reason(exc)))
            return
        self._scored.inc()
        progress.add("scored")
        if row.label == Label.NEGATIVE:
            self._alerts.inc()
            progress.add("alerts")
        yield Scored(row, comment.raw)


def failed_inference_letters(failure: tuple[Sequence[tuple[Prepared, Any]], Exception]
                             ) -> Iterator[DeadLetter]:
    """RunInference's dead-letter output is (batch, exception): one letter per comment."""
    batch, error = failure
    reason = error_reason(error)
    for comment, _example in batch:
        yield _letter("score", comment, reason)
