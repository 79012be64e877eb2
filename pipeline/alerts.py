"""The alert decision and the alert row: what a scored comment becomes in the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.records import CommentRecord, Lineage

NEGATIVE = "negative"
POSITIVE = "positive"


@dataclass(frozen=True)
class Prepared:
    """A valid comment after the text stage, on its way to the model."""

    record: CommentRecord
    lineage: Lineage
    clean_text: str
    tokens: list[str]
    keywords: list[str]


def label_for(score: float, threshold: float) -> str:
    """``score`` is P(negative); at or above the threshold the comment counts as negative."""
    return NEGATIVE if score >= threshold else POSITIVE


def alert_row(
    comment: Prepared, score: float, *, model: str, model_version: str, threshold: float
) -> dict[str, Any] | None:
    """The alerts-table row for a negative comment, or ``None`` when it raises no alert."""
    if label_for(score, threshold) != NEGATIVE:
        return None
    record = comment.record
    return {
        "comment_id": record.id,
        "source": record.source,
        "url": record.url,
        "author": record.author,
        "published_at": record.published_at,
        "crawled_at": record.crawled_at,
        "raw_text": record.text,
        "clean_text": comment.clean_text,
        "tokens": comment.tokens,
        "keywords": comment.keywords,
        "label": NEGATIVE,
        "score": score,
        "model": model,
        "model_version": model_version,
        "kafka_topic": comment.lineage.topic,
        "kafka_partition": comment.lineage.partition,
        "kafka_offset": comment.lineage.offset,
    }
