"""Each step of the job on its own, in a TestPipeline: what goes in, what comes out, and what
becomes a dead letter."""

from __future__ import annotations

from datetime import UTC, datetime

import apache_beam as beam
import torch
from apache_beam.ml.inference.base import PredictionResult
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.alerts import Prepared
from pipeline.records import CommentRecord, DeadLetter, Label, Lineage
from pipeline.stream.source import KafkaMessage
from pipeline.stream.transforms import (
    DEAD,
    Decide,
    ParseRecord,
    failed_inference_letters,
    prepared,
    read_dead_letter,
    rejected_letter,
)
from pipeline.text.stage import ProcessedText

RECORD = CommentRecord(id="s:1", source="s", url="http://127.0.0.1/1", text="太差了",
                       crawled_at=datetime(2026, 11, 30, tzinfo=UTC))
LINEAGE = Lineage(topic="comments", partition=1, offset=7)


def _message(value: bytes | None, offset: int = 7, topic: str = "comments") -> KafkaMessage:
    return KafkaMessage(topic, 1, offset, b"k", value, 0)


def _comment(text: str = "太差了") -> Prepared:
    return Prepared(record=RECORD, lineage=LINEAGE, clean_text=text, tokens=[text], keywords=[])


def test_parse_record_splits_valid_records_from_dead_letters() -> None:
    with BeamTestPipeline() as pipeline:
        parsed = (pipeline
                  | beam.Create([_message(RECORD.kafka_value()), _message(b"{", offset=8)])
                  | beam.ParDo(ParseRecord()).with_outputs(DEAD, main="ok"))
        assert_that(parsed.ok, equal_to([(RECORD, LINEAGE)]), label="CheckRecords")
        reasons = parsed[DEAD] | beam.Map(lambda d: (d.stage, d.raw, d.lineage.offset))
        assert_that(reasons, equal_to([("parse", b"{", 8)]), label="CheckDead")


def test_dead_letters_from_the_topic_take_their_position_there() -> None:
    letter = DeadLetter(stage="crawl", reason="bad date", raw=b"\xff{}", record_id="s:9")
    messages = [_message(letter.model_dump_json().encode(), 3, "comments.dead"),
                _message(b"junk", 4, "comments.dead")]
    with BeamTestPipeline() as pipeline:
        read = (pipeline | beam.Create(messages) | beam.Map(read_dead_letter)
                | beam.Map(lambda d: (d.stage, d.raw, d.record_id, d.lineage.offset)))
        assert_that(read, equal_to([("crawl", b"\xff{}", "s:9", 3),
                                    ("dead-letter-topic", b"junk", None, 4)]))


def test_prepared_and_rejected_carry_the_record_and_its_lineage() -> None:
    text = ProcessedText(cleaned="太差了", text="太差了", tokens=("太", "差"), keywords=("x",),
                         edits=())
    with BeamTestPipeline() as pipeline:
        ready = (pipeline | "Processed" >> beam.Create([((RECORD, LINEAGE), text)])
                 | beam.Map(prepared))
        assert_that(ready, equal_to([Prepared(RECORD, LINEAGE, "太差了", ["太", "差"], ["x"])]),
                    label="CheckPrepared")
        letters = (pipeline | "Rejected" >> beam.Create([((RECORD, LINEAGE), "text is empty")])
                   | beam.Map(rejected_letter)
                   | beam.Map(lambda d: (d.stage, d.reason, d.record_id, d.raw)))
        assert_that(letters, equal_to([("text", "text is empty", "s:1", RECORD.kafka_value())]),
                    label="CheckRejected")


def test_decide_alerts_at_or_above_the_threshold_only() -> None:
    results = [(_comment("差"), PredictionResult(None, torch.tensor([0.2, 0.8]))),
               (_comment("好"), PredictionResult(None, torch.tensor([0.9, 0.1])))]
    with BeamTestPipeline() as pipeline:
        rows = (pipeline | beam.Create(results)
                | beam.ParDo(Decide("lstm", "lstm-9", 0.8,
                                    lambda r: float(r.inference[Label.NEGATIVE.index])))
                | beam.Map(lambda row: (row.clean_text, row.label, row.model_version)))
        assert_that(rows, equal_to([("差", "negative", "lstm-9")]))


def test_a_failed_inference_batch_becomes_one_letter_per_comment() -> None:
    failure = ([(_comment("甲"), None), (_comment("乙"), None)], RuntimeError("CUDA out of memory"))
    with BeamTestPipeline() as pipeline:
        letters = (pipeline | beam.Create([failure]) | beam.FlatMap(failed_inference_letters)
                   | beam.Map(lambda d: (d.stage, d.reason)))
        assert_that(letters, equal_to([("score", "RuntimeError: CUDA out of memory")] * 2))
