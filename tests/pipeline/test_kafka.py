"""The producer's configuration, and the outbox that accounts for every message it sends."""

from __future__ import annotations

import pytest
from kafka.errors import KafkaConfigurationError

from pipeline.broker import EmbeddedBroker
from pipeline.config import PRODUCER_LINGER_MS, ConfigError, Settings
from pipeline.kafka import Message, Outbox, make_producer
from tests.utils.background import wait_until


def test_settings_without_producer_retries_are_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^invalid value 0 for kafka_retries: Input should "
                                          r"be greater than or equal to 1$"):
        Settings(kafka_retries=0)


@pytest.mark.integration
def test_the_producer_is_idempotent_and_bounded_by_the_delivery_timeout(
    broker: EmbeddedBroker,
) -> None:
    settings = Settings(kafka_bootstrap=broker.bootstrap, kafka_timeout_s=4, kafka_retries=3,
                        kafka_delivery_timeout_s=30)
    producer = make_producer(settings)
    try:
        config = producer.config
        assert config["enable_idempotence"] and config["acks"] == -1
        assert config["retries"] == 3 and config["max_in_flight_requests_per_connection"] <= 5
        assert config["delivery_timeout_ms"] == 30_000
        assert (config["request_timeout_ms"], config["linger_ms"]) == (4_000, PRODUCER_LINGER_MS)
    finally:
        producer.close()


@pytest.mark.integration
def test_overrides_apply_but_may_not_turn_idempotence_off(broker: EmbeddedBroker) -> None:
    settings = Settings(kafka_bootstrap=broker.bootstrap)
    producer = make_producer(settings, linger_ms=50)
    producer.close()
    assert producer.config["linger_ms"] == 50
    with pytest.raises(KafkaConfigurationError, match="acks"):
        make_producer(settings, acks=1)


@pytest.mark.integration
def test_the_outbox_settles_every_message_once_when_the_broker_is_gone(
    broker: EmbeddedBroker, settings: Settings
) -> None:
    settings = settings.model_copy(update={"kafka_timeout_s": 1, "kafka_delivery_timeout_s": 2})
    delivered: list[Message] = []
    undelivered: list[tuple[Message, str]] = []
    outbox = Outbox(settings, [settings.topic_comments], delivered.append,
                    lambda message, error: undelivered.append((message, error)))
    sent = [Message(settings.topic_comments, f"k{n}".encode(), f"v{n}".encode())
            for n in range(8)]
    outbox.open()
    for message in sent[:3]:
        outbox.send(message)
    wait_until(lambda: len(delivered) == 3, 10, "the first messages' acknowledgements")
    broker.stop()
    for message in sent[3:]:
        outbox.send(message)
    outbox.close()

    assert len(delivered) == 3 and set(delivered) == set(sent[:3])  # partitions reorder them
    assert len(undelivered) == len(sent[3:])  # each once
    assert {message for message, _ in undelivered} == set(sent[3:])
    assert all(error for _, error in undelivered)
