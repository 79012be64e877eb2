"""The expected outcome of scoring, computed outside Beam to check what the pipeline stored."""

from __future__ import annotations

from models.predict import Predictor
from pipeline.config import Settings


def expected_alerts(settings: Settings, comments: list[tuple[str, str]]) -> set[str]:
    """Ids of the (id, raw text) comments whose P(negative) reaches the alert threshold."""
    scored = Predictor(settings).score(text for _id, text in comments)
    return {comment_id for (comment_id, _text), result in zip(comments, scored, strict=True)
            if result.score is not None and result.score >= settings.alert_threshold}
