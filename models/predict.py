"""Score texts outside Beam through exactly the pipeline's steps and the model's own handler.

Evaluation, the ``yuqing score`` command and anything else that scores offline go through
:class:`Predictor`, so a model is judged on the same text stage (clean, correct, segment),
encoding, padding and probability read-out that the streaming job applies to live comments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from pipeline.config import Settings
from pipeline.scoring import Scorer, load_scorer
from pipeline.text.clean import TextRejected
from pipeline.text.stage import TextStage


def settings_for(settings: Settings, model: str | None, model_path: Path | None = None
                 ) -> Settings:
    """Settings that select ``model`` (default: the configured one) from ``model_path``; without
    a path, a model other than the configured one is read from its scorer's default artifact."""
    model = model or settings.model
    if model_path is None and model == settings.model:
        model_path = settings.model_path
    return settings.model_copy(update={"model": model, "model_path": model_path})


@dataclass(frozen=True)
class Scored:
    text: str
    score: float | None  # P(negative); None when the text stage rejected the text
    rejected: str | None = None


class Predictor:
    """One loaded model plus the text stage, scoring batches of raw texts in order."""

    def __init__(self, settings: Settings, scorer: Scorer | None = None) -> None:
        self.settings = settings
        self.scorer = scorer or load_scorer(settings)
        self.text_stage = TextStage.load(settings)
        self.handler = self.scorer.model_handler()
        self.model = self.handler.load_model()

    def score(self, texts: Iterable[str]) -> Iterator[Scored]:
        """Results in input order; rejected texts carry the reason instead of a score."""
        iterator = iter(texts)
        while batch := list(islice(iterator, self.settings.batch_size)):
            yield from self._score_batch(batch)

    def _score_batch(self, texts: list[str]) -> list[Scored]:
        encoded, rejected = {}, {}
        for i, processed in enumerate(self.text_stage.process_batch(texts)):
            if isinstance(processed, TextRejected):
                rejected[i] = processed.reason
            else:
                encoded[i] = self.scorer.encode(processed.text, list(processed.tokens))
        batch = list(encoded.values())
        results = self.handler.run_inference(batch, self.model) if batch else []
        scores = dict(zip(encoded, map(self.scorer.negative_probability, results), strict=True))
        return [Scored(text, scores.get(i), rejected.get(i)) for i, text in enumerate(texts)]
