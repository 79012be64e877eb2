"""The expected outcome of scoring, computed outside Beam to check what the pipeline stored."""

from __future__ import annotations

import torch

from models.handlers import load_scorer, padded_inference_fn
from pipeline.config import Settings
from pipeline.text.stage import ProcessedText, TextStage


def expected_alerts(settings: Settings, comments: list[tuple[str, str]]) -> set[str]:
    """Ids of the (id, raw text) comments whose P(negative) reaches the alert threshold."""
    scorer = load_scorer(settings)
    model = scorer.model_handler().load_model()
    processed = TextStage.load(settings).process_batch([text for _id, text in comments])
    assert all(isinstance(text, ProcessedText) for text in processed)
    batch = [scorer.encode(text.text, list(text.tokens)) for text in processed]
    results = padded_inference_fn(batch, model, torch.device("cpu"))
    return {comment_id for (comment_id, _text), result in zip(comments, results, strict=True)
            if scorer.negative_probability(result) >= settings.alert_threshold}
