"""The stream job's consumer lag, for ``/metrics``: how many comments and dead letters Kafka
holds that the job has not yet committed as stored.

Asked of Kafka at most once every ``ttl_s`` and shared by every scrape in between: Prometheus
scrapes every few seconds, which need not each open a connection, and a broker that is down
then costs one timeout per ``ttl_s`` instead of slowing every scrape.
"""

from __future__ import annotations

import logging
import threading
import time

from kafka.errors import KafkaError

from pipeline.config import Settings
from pipeline.kafka import consumer_lag

log = logging.getLogger(__name__)

Lag = dict[tuple[str, int], int]


class KafkaLag:
    def __init__(self, settings: Settings, timeout_s: float = 2.0, ttl_s: float = 10.0) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._asked_at: float | None = None
        self._lag: Lag | None = None

    def read(self) -> Lag | None:
        """Lag per (topic, partition), or None if the broker did not answer last time asked."""
        with self._lock:
            now = time.monotonic()
            if self._asked_at is None or now - self._asked_at >= self._ttl_s:
                self._lag = self._ask()
                self._asked_at = time.monotonic()
            return self._lag

    def _ask(self) -> Lag | None:
        client_log = logging.getLogger("kafka")
        level = client_log.level
        client_log.setLevel(logging.CRITICAL)  # a refused connection is our one line's cause
        try:
            return consumer_lag(self._settings, self._timeout_s)
        except KafkaError as error:
            log.warning("consumer lag for /metrics: Kafka at %s did not answer (%s); "
                        "yuqing_kafka_up is 0", self._settings.kafka_bootstrap, error)
            return None
        finally:
            client_log.setLevel(level)
