"""Beam wrappers around :class:`~pipeline.text.stage.TextStage`, for the streaming job.

The corrector's LM is ~100 MB in memory and takes seconds to load, so every DoFn instance in a
worker process shares one stage through :class:`apache_beam.utils.shared.Shared`, acquired in
``setup``. Refused comments go to the ``rejected`` output with their reason, never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.utils.shared import Shared

from pipeline.config import Settings
from pipeline.records import error_reason
from pipeline.text.clean import TextRejected
from pipeline.text.stage import ProcessedText, TextStage

REJECTED = "rejected"

log = logging.getLogger(__name__)


class _Handle:
    """Shared needs a weak-referenceable object; a TextStage in a box is one."""

    def __init__(self, stage: TextStage) -> None:
        self.stage = stage


class ProcessTextFn(beam.DoFn):
    """Batches of ``(key, raw text)`` → ``(key, ProcessedText)`` each; refusals go to
    ``rejected`` as ``(key, reason)``."""

    def __init__(self, settings: Settings, shared: Shared | None = None) -> None:
        self._settings = settings
        self._shared = shared or Shared()
        self._stage: TextStage | None = None

    def setup(self) -> None:
        handle = self._shared.acquire(lambda: _Handle(TextStage.load(self._settings)))
        self._stage = handle.stage

    def process(self, batch: list[tuple[Any, str]]) -> Iterator[Any]:
        assert self._stage is not None, "setup() loads the text stage"
        try:
            results = self._stage.process_batch([raw for _, raw in batch])
        except Exception:  # a bug on odd input: find the culprit instead of failing the stream
            log.exception("text stage failed on a batch of %d; retrying one by one", len(batch))
            results = [self._process_one(raw) for _, raw in batch]
        for (key, _), result in zip(batch, results, strict=True):
            if isinstance(result, TextRejected):
                yield beam.pvalue.TaggedOutput(REJECTED, (key, result.reason))
            else:
                yield key, result

    def _process_one(self, raw: str) -> ProcessedText | TextRejected:
        """The culprit's exception becomes its refusal, so the rest of its batch goes on."""
        assert self._stage is not None
        try:
            return self._stage.process_batch([raw])[0]
        except Exception as exc:
            return TextRejected(error_reason(exc))


class ProcessText(beam.PTransform):
    """``comments | 'ProcessText' >> ProcessText(settings)`` on ``(key, raw text)`` pairs gives
    the outputs ``processed`` (``(key, ProcessedText)``) and ``rejected`` (``(key, reason)``)."""

    def __init__(self, settings: Settings, max_batch_size: int = 256) -> None:
        super().__init__()
        self._settings = settings
        self._max_batch_size = max_batch_size

    def expand(self, comments: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            comments
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=self._max_batch_size)
            | "CleanCorrectSegment"
            >> beam.ParDo(ProcessTextFn(self._settings)).with_outputs(REJECTED, main="processed")
        )


__all__ = ["REJECTED", "ProcessText", "ProcessTextFn", "ProcessedText"]
