"""Kafka clients configured once, with the timeouts and retries every external call needs."""

from __future__ import annotations

import contextlib
import logging

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaTimeoutError, TopicAlreadyExistsError

from pipeline.config import Settings
from pipeline.errors import BrokerUnreachable

log = logging.getLogger(__name__)


def make_producer(settings: Settings, **overrides: object) -> KafkaProducer:
    """A producer that waits for all in-sync replicas and retries transient failures."""
    timeout_ms = int(settings.kafka_timeout_s * 1000)
    options: dict[str, object] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "acks": "all",
        "retries": settings.kafka_retries,
        "retry_backoff_ms": 200,
        "request_timeout_ms": timeout_ms,
        "max_block_ms": timeout_ms,
        "bootstrap_timeout_ms": timeout_ms,
        "linger_ms": 5,
    }
    options.update(overrides)
    return KafkaProducer(**options)


def make_consumer(settings: Settings, **overrides: object) -> KafkaConsumer:
    """A manually-assigned consumer in the pipeline's group; offsets are committed by hand."""
    timeout_ms = int(settings.kafka_timeout_s * 1000)
    options: dict[str, object] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "group_id": settings.consumer_group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "request_timeout_ms": max(timeout_ms, 31_000),
        "session_timeout_ms": 6_000,
        "heartbeat_interval_ms": 2_000,
        "retry_backoff_ms": 200,
        "max_poll_records": 500,
    }
    options.update(overrides)
    return KafkaConsumer(**options)


def ensure_topics(settings: Settings) -> None:
    """Create the comment and dead-letter topics if they are missing."""
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        request_timeout_ms=int(settings.kafka_timeout_s * 1000),
    )
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=settings.topic_partitions, replication_factor=1)
            for name in (settings.topic_comments, settings.topic_dead_letters)
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # created by a racing client
                admin.create_topics(wanted)
            log.info("created topics %s", [t.name for t in wanted])
    finally:
        admin.close()


def check_broker(settings: Settings) -> None:
    """Raise :class:`BrokerUnreachable` in one line unless a broker answers at the bootstrap
    servers; a crawl checks first rather than fetching pages it could not deliver."""
    timeout_ms = int(settings.kafka_timeout_s * 1000)
    client_log = logging.getLogger("kafka")
    level = client_log.level
    client_log.setLevel(logging.CRITICAL)  # each refused connection is our one line's cause
    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers,
                                 request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms)
    except KafkaTimeoutError:
        raise BrokerUnreachable(
            f"no Kafka broker answers at {settings.kafka_bootstrap} (waited "
            f"{settings.kafka_timeout_s:g}s); start one (`yuqing broker`) or set "
            "YUQING_KAFKA_BOOTSTRAP") from None
    finally:
        client_log.setLevel(level)
    admin.close()
