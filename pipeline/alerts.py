"""The alert decision: what a scored comment becomes in the store."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.records import AlertRow, CommentRecord, Lineage, label_for


@dataclass(frozen=True)
class Prepared:
    """A valid comment after the text stage, on its way to the model.

    ``raw`` is the Kafka message exactly as it arrived, so that a comment the model fails on is
    kept as it was sent rather than as we would re-serialise it.
    """

    record: CommentRecord
    lineage: Lineage
    raw: bytes
    clean_text: str
    tokens: list[str]
    keywords: list[str]


@dataclass(frozen=True)
class Scored:
    """A scored comment on its way to the store: its row and the Kafka message it came in.

    The store may still refuse the row (a constraint, a trigger), and its dead letter must then
    keep the bytes that arrived; the ``alerts`` table has no column for them, so they travel
    beside the row instead.
    """

    row: AlertRow
    raw: bytes


def alert_row(
    comment: Prepared, score: float, *, model: str, model_version: str, threshold: float
) -> AlertRow:
    """The comment as scored, labelled by :func:`label_for`.

    Positives are kept too: the comment may be a newer version of one that raised an alert,
    and the store withdraws that alert only if it hears of the edit.
    """
    label = label_for(score, threshold)
    record = comment.record
    return AlertRow(
        comment_id=record.id, source=record.source, url=record.url, author=record.author,
        published_at=record.published_at, crawled_at=record.crawled_at, raw_text=record.text,
        clean_text=comment.clean_text, tokens=comment.tokens, keywords=comment.keywords,
        label=label.value, score=score, model=model, model_version=model_version,
        kafka_topic=comment.lineage.topic, kafka_partition=comment.lineage.partition,
        kafka_offset=comment.lineage.offset,
    )  # fmt: skip
