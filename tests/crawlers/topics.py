"""Read a whole topic back from the test broker, to check what a crawl really produced."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from pipeline.config import Settings


def read_topic(settings: Settings, topic: str, timeout_s: float = 20.0) -> list[ConsumerRecord]:
    """Every message now in ``topic``: polls until each partition reaches its high watermark.

    The fetch's high watermark is used rather than ``end_offsets``, which tansu reports
    slightly wrong (after 12 messages it reported 1).
    """
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        request_timeout_ms=31_000,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        assert partitions, f"topic {topic} does not exist"
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        messages: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                messages.extend(batch)
            marks = [consumer.highwater(tp) for tp in partitions]
            if None not in marks and all(
                consumer.position(tp) >= mark for tp, mark in zip(partitions, marks, strict=True)
            ):
                return messages
        raise TimeoutError(f"could not read {topic} to its end in {timeout_s}s")
    finally:
        consumer.close()


def message_count(settings: Settings, topic: str) -> int:
    """How many messages ``topic`` holds now (the sum of its partitions' end offsets); accurate
    on Apache Kafka, not on tansu (see :func:`read_topic`)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                             request_timeout_ms=31_000)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()
