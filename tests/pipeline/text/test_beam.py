"""ProcessText in a TestPipeline: batches through the shared stage, refusals on their own output."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.config import Settings
from pipeline.text.beam import ProcessText


@pytest.mark.usefixtures("corrector")  # loaded once; the DoFn's setup then reuses it
def test_beam_transform_corrects_and_routes_rejections() -> None:
    comments = [("a", "很好[赞]"), ("b", "http://x.cn"), ("c", "差" * 5000), ("d", "对不气")]
    with BeamTestPipeline() as pipeline:
        outputs = pipeline | beam.Create(comments) | ProcessText(Settings(), max_batch_size=2)
        texts = outputs.processed | beam.MapTuple(lambda key, done: (key, done.text))
        assert_that(texts, equal_to([("a", "很好[赞]"), ("d", "对不起")]), label="CheckProcessed")
        reasons = outputs.rejected | beam.MapTuple(lambda key, reason: (key, reason[:9]))
        expected = [("b", "text is e"), ("c", "text has ")]
        assert_that(reasons, equal_to(expected), label="CheckRejected")
