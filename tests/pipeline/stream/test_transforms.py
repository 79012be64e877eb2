"""Each step of the job on its own, in a TestPipeline: what goes in, what comes out, and what
becomes a dead letter."""

from __future__ import annotations

from datetime import UTC, datetime

import apache_beam as beam
import pytest
import torch
from apache_beam.ml.inference.base import PredictionResult
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.alerts import Prepared
from pipeline.records import CommentRecord, DeadLetter, Label, Lineage, Thresholds
from pipeline.stream import transforms
from pipeline.stream.source import KafkaMessage
from pipeline.stream.transforms import (
    DEAD,
    Decide,
    Encode,
    ParseRecord,
    Received,
    failed_inference_letters,
    prepared,
    read_dead_letter,
    rejected_letter,
)
from pipeline.text.stage import ProcessedText

RECORD = CommentRecord(id="s:1", source="s", url="http://127.0.0.1/1", text="太差了",
                       crawled_at=datetime(2024, 11, 30, tzinfo=UTC))
LINEAGE = Lineage(topic="comments", partition=1, offset=7)
# What a crawler of another make might send: spaced out, an extra field, no crawled_at. The job
# must keep these bytes, not RECORD.kafka_value().
ARRIVED = (b'{ "id": "s:1", "source": "s", "url": "http://127.0.0.1/1",'
           rb' "text": "\u592a\u5dee", "likes": 3 }')


def _message(value: bytes | None, offset: int = 7, topic: str = "comments") -> KafkaMessage:
    return KafkaMessage(topic, 1, offset, b"k", value, 0)


def _comment(text: str = "太差了") -> Prepared:
    return Prepared(record=RECORD, lineage=LINEAGE, raw=ARRIVED, clean_text=text, tokens=[text],
                    keywords=[])


def _brief(letter: DeadLetter) -> tuple[str, str, bytes, str | None, int | None]:
    return (letter.stage, letter.reason, letter.raw, letter.record_id,
            letter.lineage and letter.lineage.offset)


def test_parse_record_splits_valid_records_from_dead_letters() -> None:
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        parsed = (pipeline
                  | beam.Create([_message(RECORD.kafka_value()), _message(b"{", offset=8)])
                  | beam.ParDo(ParseRecord()).with_outputs(DEAD, main="ok"))
        assert_that(parsed.ok, equal_to([Received(RECORD, LINEAGE, RECORD.kafka_value())]),
                    label="CheckRecords")
        reasons = parsed[DEAD] | beam.Map(lambda d: (d.stage, d.raw, d.lineage.offset))
        assert_that(reasons, equal_to([("parse", b"{", 8)]), label="CheckDead")


def test_dead_letters_from_the_topic_take_their_position_there() -> None:
    letter = DeadLetter(stage="crawl", reason="bad date", raw=b"\xff{}", record_id="s:9")
    messages = [_message(letter.model_dump_json().encode(), 3, "comments.dead"),
                _message(b"junk", 4, "comments.dead")]
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        read = (pipeline | beam.Create(messages) | beam.Map(read_dead_letter)
                | beam.Map(lambda d: (d.stage, d.raw, d.record_id, d.lineage.offset)))
        assert_that(read, equal_to([("crawl", b"\xff{}", "s:9", 3),
                                    ("dead-letter-topic", b"junk", None, 4)]))


def test_parse_keeps_the_bytes_that_arrived() -> None:
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        parsed = (pipeline | beam.Create([_message(ARRIVED)])
                  | beam.ParDo(ParseRecord()).with_outputs(DEAD, main="ok"))
        raws = parsed.ok | beam.Map(lambda comment: (comment.record.id, comment.raw))
        assert_that(raws, equal_to([("s:1", ARRIVED)]))


def test_an_unforeseen_parse_failure_is_a_dead_letter(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_raw: bytes | None) -> CommentRecord:
        raise MemoryError("out of\nmemory")

    monkeypatch.setattr(transforms, "parse_record", broken)
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        parsed = (pipeline | beam.Create([_message(ARRIVED)])
                  | beam.ParDo(ParseRecord()).with_outputs(DEAD, main="ok"))
        assert_that(parsed[DEAD] | beam.Map(_brief),
                    equal_to([("parse", "MemoryError: out of memory", ARRIVED, None, 7)]))


def test_an_unforeseen_failure_reading_the_dead_letter_topic_is_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_raw: bytes | None) -> DeadLetter:
        raise RecursionError("deep")

    monkeypatch.setattr(transforms, "parse_dead_letter", broken)
    letter = read_dead_letter(_message(b"{}", 5, "comments.dead"))
    assert _brief(letter) == ("dead-letter-topic", "RecursionError: deep", b"{}", None, 5)


def test_prepared_and_rejected_carry_the_record_its_lineage_and_its_bytes() -> None:
    text = ProcessedText(cleaned="太差了", text="太差了", tokens=("太", "差"), keywords=("x",),
                         edits=())
    arrived = Received(RECORD, LINEAGE, ARRIVED)
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        ready = (pipeline | "Processed" >> beam.Create([(arrived, text)]) | beam.Map(prepared))
        assert_that(ready, equal_to([Prepared(RECORD, LINEAGE, ARRIVED, "太差了", ["太", "差"],
                                              ["x"])]), label="CheckPrepared")
        letters = (pipeline | "Rejected" >> beam.Create([(arrived, "text is empty")])
                   | beam.Map(rejected_letter) | beam.Map(_brief))
        assert_that(letters, equal_to([("text", "text is empty", ARRIVED, "s:1", 7)]),
                    label="CheckRejected")


def test_a_comment_the_scorer_cannot_encode_is_a_dead_letter() -> None:
    def encode(text: str, _tokens: list[str]) -> torch.Tensor:
        if text == "坏":
            raise IndexError("no such character")
        return torch.tensor([1])

    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        encoded = (pipeline | beam.Create([_comment("好"), _comment("坏")])
                   | beam.ParDo(Encode(encode)).with_outputs(DEAD, main="ok"))
        assert_that(encoded.ok | beam.Map(lambda pair: pair[0].clean_text), equal_to(["好"]),
                    label="CheckEncoded")
        assert_that(encoded[DEAD] | beam.Map(_brief),
                    equal_to([("score", "IndexError: no such character", ARRIVED, "s:1", 7)]),
                    label="CheckDead")


def test_decide_labels_every_comment_and_keeps_the_bytes_it_arrived_in() -> None:
    results = [(_comment("差"), PredictionResult(None, torch.tensor([0.2, 0.8]))),
               (_comment("好"), PredictionResult(None, torch.tensor([0.9, 0.1])))]
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        rows = (pipeline | beam.Create(results)
                | beam.ParDo(Decide("lstm", "lstm-9", Thresholds(0.8),
                                    lambda r: float(r.inference[Label.NEGATIVE.index])))
                | beam.Map(lambda scored: (scored.row.clean_text, scored.row.label,
                                           scored.row.model_version, scored.raw)))
        assert_that(rows, equal_to([("差", "negative", "lstm-9", ARRIVED),
                                    ("好", "positive", "lstm-9", ARRIVED)]))


@pytest.mark.parametrize(("thresholds", "label"), [
    (Thresholds(0.8), "negative"),
    (Thresholds(0.8, {RECORD.source: 0.9}), "positive"),
    (Thresholds(0.8, {"elsewhere": 0.9}), "negative"),
], ids=["default", "own source", "other source"])
def test_decide_labels_at_the_threshold_of_the_comments_source(thresholds: Thresholds,
                                                               label: str) -> None:
    results = [(_comment("差"), PredictionResult(None, torch.tensor([0.15, 0.85])))]
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        rows = (pipeline | beam.Create(results)
                | beam.ParDo(Decide("lstm", "lstm-9", thresholds,
                                    lambda r: float(r.inference[Label.NEGATIVE.index])))
                | beam.Map(lambda scored: scored.row.label))
        assert_that(rows, equal_to([label]))


def test_a_result_decide_cannot_read_is_a_dead_letter() -> None:
    results = [(_comment("差"), PredictionResult(None, torch.tensor([0.2, 0.8]))),
               (_comment("怪"), PredictionResult(None, torch.tensor([])))]
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        decided = (pipeline | beam.Create(results)
                   | beam.ParDo(Decide("lstm", "lstm-9", Thresholds(0.8),
                                       lambda r: float(r.inference[Label.NEGATIVE.index])))
                   .with_outputs(DEAD, main="alerts"))
        assert_that(decided.alerts | beam.Map(lambda scored: scored.row.clean_text),
                    equal_to(["差"]),
                    label="CheckAlerts")
        reasons = decided[DEAD] | beam.Map(lambda d: (d.stage, d.reason.split(":")[0], d.raw))
        assert_that(reasons, equal_to([("score", "IndexError", ARRIVED)]), label="CheckDead")


def test_a_failed_inference_batch_becomes_one_letter_per_comment() -> None:
    failure = ([(_comment("甲"), None), (_comment("乙"), None)],
               RuntimeError("CUDA out of memory\nTried to allocate 2 GiB"))
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        letters = (pipeline | beam.Create([failure]) | beam.FlatMap(failed_inference_letters)
                   | beam.Map(_brief))
        reason = "RuntimeError: CUDA out of memory Tried to allocate 2 GiB"
        assert_that(letters, equal_to([("score", reason, ARRIVED, "s:1", 7)] * 2))
