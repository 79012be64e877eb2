"""Test data: real held-out review texts as comment records, and a producer for raw bytes."""

from __future__ import annotations

from collections.abc import Sequence

from models.data import load_examples
from pipeline.config import Settings
from pipeline.kafka import make_producer
from pipeline.records import CommentRecord, make_id


def held_out_records(count: int, source: str = "test-shop") -> list[CommentRecord]:
    """``count`` records built from the held-out test split, never from training texts."""
    examples = load_examples("test")[:count]
    return [
        CommentRecord(id=make_id(source, example.id), source=source,
                      url=f"http://127.0.0.1/reviews/{example.id}", text=example.text)
        for example in examples
    ]


def produce(settings: Settings, messages: Sequence[tuple[bytes | None, bytes | None]],
            **producer_options: object) -> list[tuple[int, int]]:
    """Send (key, value) pairs to the comments topic; returns each one's (partition, offset)."""
    producer = make_producer(settings, **producer_options)
    try:
        futures = [producer.send(settings.topic_comments, key=key, value=value)
                   for key, value in messages]
        producer.flush()
        return [(meta.partition, meta.offset) for meta in (f.get(timeout=10) for f in futures)]
    finally:
        producer.close()


def produce_records(settings: Settings, records: Sequence[CommentRecord]) -> list[tuple[int, int]]:
    return produce(settings, [(record.kafka_key(), record.kafka_value()) for record in records])
