"""ProcessText in a TestPipeline: batches through the shared stage, refusals on their own output."""

from __future__ import annotations

from collections.abc import Sequence

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import Settings
from pipeline.records import REASON_CHARS
from pipeline.text.beam import ProcessText
from pipeline.text.clean import TextRejected
from pipeline.text.stage import ProcessedText, TextStage


@pytest.mark.usefixtures("corrector")  # loaded once; the DoFn's setup then reuses it
def test_beam_transform_corrects_and_routes_rejections() -> None:
    comments = [("a", "很好[赞]"), ("b", "http://x.cn"), ("c", "差" * 5000), ("d", "对不气")]
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        outputs = pipeline | beam.Create(comments) | ProcessText(Settings(), max_batch_size=2)
        texts = outputs.processed | beam.MapTuple(lambda key, done: (key, done.text))
        assert_that(texts, equal_to([("a", "很好[赞]"), ("d", "对不起")]), label="CheckProcessed")
        reasons = outputs.rejected | beam.MapTuple(lambda key, reason: (key, reason[:9]))
        expected = [("b", "text is e"), ("c", "text has ")]
        assert_that(reasons, equal_to(expected), label="CheckRejected")


class _Brittle:
    """A stage with a bug on one odd text, as a library might have: it fails any batch holding
    that text, with a long, multi-line message."""

    def __init__(self, stage: TextStage) -> None:
        self._stage = stage

    def process_batch(self, raws: Sequence[str]) -> list[ProcessedText | TextRejected]:
        if "炸" in "".join(raws):
            raise RecursionError("maximum recursion depth exceeded\n" + "in segment " * 500)
        return self._stage.process_batch(raws)


def test_a_comment_the_stage_fails_on_is_refused_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(correct_text=False)
    monkeypatch.setattr(TextStage, "load", lambda loaded: _Brittle(TextStage(loaded, None)))
    comments = [("a", "很好"), ("b", "炸了"), ("c", "太差")]
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        outputs = pipeline | beam.Create(comments) | ProcessText(settings, max_batch_size=3)
        texts = outputs.processed | beam.MapTuple(lambda key, done: (key, done.text))
        assert_that(texts, equal_to([("a", "很好"), ("c", "太差")]), label="CheckProcessed")
        reasons = outputs.rejected | beam.MapTuple(
            lambda key, reason: (key, reason[:48], len(reason), "\n" in reason))
        expected = [("b", "RecursionError: maximum recursion depth exceeded", REASON_CHARS, False)]
        assert_that(reasons, equal_to(expected), label="CheckRejected")
