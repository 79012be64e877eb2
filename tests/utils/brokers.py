"""Running a test on either broker: tansu (embedded, memory-only, one per test) or the session's
real Apache Kafka (shared, so each test takes its own topics and consumer group there)."""

from __future__ import annotations

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from pipeline.config import Settings
from pipeline.kafka import ensure_topics, make_consumer, make_producer

ON_EACH_BROKER = pytest.mark.parametrize(
    "settings", ["tansu", pytest.param("apache-kafka", marks=pytest.mark.integration)],
    indirect=True)
"""Runs a test that takes the ``settings`` fixture once per broker: what it checks must not
depend on which Kafka the job talks to."""


def own_topics(bootstrap: str, name: str, **values: object) -> Settings:
    """Settings on a broker shared by many tests, with this test's own topics and consumer group,
    the topics created."""
    settings = Settings(kafka_bootstrap=bootstrap, kafka_timeout_s=10, topic_comments=name,
                        topic_dead_letters=f"{name}.dead", consumer_group=f"{name}-group",
                        **values)
    ensure_topics(settings)
    return settings


def produce_to(settings: Settings, partition: int, count: int) -> None:
    """``count`` small messages straight to one partition of the comments topic."""
    producer = make_producer(settings)
    try:
        for n in range(count):
            producer.send(settings.topic_comments, value=b"%d" % n, partition=partition)
        producer.flush()
    finally:
        producer.close()


def commit(settings: Settings, partition: int, offset: int, metadata: str | None = None
           ) -> None:
    """Commit ``offset`` for the consumer group, as a job's bundle finalization does."""
    consumer = make_consumer(settings)
    try:
        consumer.commit({TopicPartition(settings.topic_comments, partition):
                         OffsetAndMetadata(offset, metadata or "", -1)})
    finally:
        consumer.close()
