"""The expected outcome of scoring, computed outside Beam to check what the pipeline stored."""

from __future__ import annotations

import torch

from models.handlers import load_scorer, padded_inference_fn
from pipeline.config import Settings
from pipeline.text.clean import clean
from pipeline.text.segment import Segmenter


def expected_alerts(settings: Settings, comments: list[tuple[str, str]]) -> set[str]:
    """Ids of the (id, raw text) comments whose P(negative) reaches the alert threshold."""
    scorer = load_scorer(settings)
    model = scorer.model_handler().load_model()
    segmenter = Segmenter(settings.keywords)
    texts = [clean(text) for _id, text in comments]
    batch = [scorer.encode(text, segmenter.cut(text)) for text in texts]
    results = padded_inference_fn(batch, model, torch.device("cpu"))
    return {comment_id for (comment_id, _text), result in zip(comments, results, strict=True)
            if scorer.negative_probability(result) >= settings.alert_threshold}
