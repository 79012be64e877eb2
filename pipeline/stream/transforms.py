"""The pipeline's steps as DoFns: each wraps a plain domain function in a few lines.

Every step that can reject an element emits a :class:`~pipeline.records.DeadLetter` on the
``dead`` output instead of raising, so one bad comment never stops the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import PredictionResult

from pipeline.alerts import Prepared, alert_row
from pipeline.records import (
    CommentRecord,
    DeadLetter,
    Lineage,
    RecordError,
    parse_dead_letter,
    parse_record,
)
from pipeline.stream import progress
from pipeline.stream.source import KafkaMessage
from pipeline.text.stage import ProcessedText

log = logging.getLogger(__name__)

DEAD = "dead"


def _lineage(message: KafkaMessage) -> Lineage:
    return Lineage(topic=message.topic, partition=message.partition, offset=message.offset)


class ParseRecord(beam.DoFn):
    """Kafka bytes → a validated comment, or a dead letter saying why not."""

    def process(self, message: KafkaMessage) -> Iterator[Any]:
        try:
            record = parse_record(message.value)
        except RecordError as exc:
            yield beam.pvalue.TaggedOutput(DEAD, DeadLetter(
                stage="parse", reason=exc.reason, raw=message.value or b"",
                lineage=_lineage(message)))
            return
        yield record, _lineage(message)


def read_dead_letter(message: KafkaMessage) -> DeadLetter:
    """A dead letter from the dead-letter topic (the crawler's), placed where it was read.

    Its lineage becomes its position on that topic, so a replay stores it once; one that cannot
    be read is itself kept as a dead letter, raw bytes and all.
    """
    try:
        letter = parse_dead_letter(message.value)
    except RecordError as exc:
        return DeadLetter(stage="dead-letter-topic", reason=exc.reason, raw=message.value or b"",
                          lineage=_lineage(message))
    return letter.model_copy(update={"lineage": _lineage(message)})


def prepared(element: tuple[tuple[CommentRecord, Lineage], ProcessedText]) -> Prepared:
    (record, lineage), text = element
    return Prepared(record=record, lineage=lineage, clean_text=text.text, tokens=list(text.tokens),
                    keywords=list(text.keywords))


def rejected_letter(element: tuple[tuple[CommentRecord, Lineage], str]) -> DeadLetter:
    (record, lineage), reason = element
    return DeadLetter(stage="text", reason=reason, raw=record.kafka_value(), record_id=record.id,
                      lineage=lineage)


class Decide(beam.DoFn):
    """Model output → alert row for negatives at or above the threshold; counts what it saw."""

    def __init__(self, model: str, version: str, threshold: float,
                 probability: Callable[[PredictionResult], float]) -> None:
        self._model, self._version, self._threshold = model, version, threshold
        self._probability = probability
        self._scored = Metrics.counter("yuqing", "scored")
        self._alerts = Metrics.counter("yuqing", "alerts")

    def process(self, element: tuple[Prepared, PredictionResult]) -> Iterator[Any]:
        comment, result = element
        self._scored.inc()
        progress.add("scored")
        row = alert_row(comment, self._probability(result), model=self._model,
                        model_version=self._version, threshold=self._threshold)
        if row is not None:
            self._alerts.inc()
            progress.add("alerts")
            yield row


def failed_inference_letters(failure: tuple[Sequence[tuple[Prepared, Any]], Exception]
                             ) -> Iterator[DeadLetter]:
    """RunInference's dead-letter output is (batch, exception): one letter per comment."""
    batch, error = failure
    for comment, _example in batch:
        yield DeadLetter(stage="score", reason=f"{type(error).__name__}: {error}",
                         raw=comment.record.kafka_value(), record_id=comment.record.id,
                         lineage=comment.lineage)
