"""Kafka clients configured once, with the timeouts and retries every external call needs."""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import (
    IllegalStateError,
    InvalidProducerEpochError,
    KafkaError,
    KafkaTimeoutError,
    OutOfOrderSequenceNumberError,
    ProducerFencedError,
    TopicAlreadyExistsError,
    UnknownProducerIdError,
)

from pipeline.config import PRODUCER_LINGER_MS, Settings
from pipeline.errors import BrokerUnreachable

log = logging.getLogger(__name__)


def make_producer(settings: Settings, **overrides: object) -> KafkaProducer:
    """An idempotent producer that waits for all in-sync replicas and retries transient failures
    for at most ``kafka_delivery_timeout_s`` per message, after which the message fails.

    Idempotence is explicit so that a conflicting override raises instead of silently turning it
    off (kafka-python's behaviour when it is only the default): retries after a lost
    acknowledgement must not write a message twice.
    """
    timeout_ms = int(settings.kafka_timeout_s * 1000)
    options: dict[str, object] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "enable_idempotence": True,
        "acks": "all",
        "retries": settings.kafka_retries,
        "max_in_flight_requests_per_connection": 5,  # the most idempotence allows
        "delivery_timeout_ms": int(settings.kafka_delivery_timeout_s * 1000),
        "retry_backoff_ms": 200,
        # Kafka's 30 s ceiling would leave a restarted broker unused for half a minute of the
        # delivery timeout.
        "reconnect_backoff_max_ms": 1000,
        "request_timeout_ms": timeout_ms,
        "max_block_ms": timeout_ms,
        "bootstrap_timeout_ms": timeout_ms,
        "linger_ms": PRODUCER_LINGER_MS,
    }
    options.update(overrides)
    return KafkaProducer(**options)


# The most records one poll hands over (kafka-python's default).
MAX_POLL_RECORDS = 500


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
        "max_poll_records": MAX_POLL_RECORDS,
    }
    options.update(overrides)
    return KafkaConsumer(**options)


def make_admin(settings: Settings, timeout_ms: int | None = None) -> KafkaAdminClient:
    """An admin client whose requests, and its first connection, give up after ``timeout_ms``
    (default: the Kafka request timeout)."""
    timeout_ms = timeout_ms or int(settings.kafka_timeout_s * 1000)
    return KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers,
                            request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms)


def consumer_lag(settings: Settings, timeout_s: float) -> dict[tuple[str, int], int]:
    """How many messages the job has still to read, per (topic, partition) of the comment and
    dead-letter topics: the log's end less the consumer group's committed offset, or less the
    log's start where the group has committed none. Raises :class:`KafkaError` (a timeout
    included) if the broker does not answer within about ``timeout_s``."""
    timeout_ms = int(timeout_s * 1000)
    consumer = make_consumer(settings, request_timeout_ms=max(timeout_ms, 1000),
                             bootstrap_timeout_ms=timeout_ms)
    try:
        partitions = [TopicPartition(topic, number)
                      for topic in (settings.topic_comments, settings.topic_dead_letters)
                      for number in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(partitions, timeout_ms=timeout_ms)
        starts = consumer.beginning_offsets(partitions, timeout_ms=timeout_ms)
        lag = {}
        for partition in partitions:
            committed = consumer.committed(partition, timeout_ms=timeout_ms)
            done = starts[partition] if committed is None else max(committed, starts[partition])
            lag[(partition.topic, partition.partition)] = max(ends[partition] - done, 0)
        return lag
    finally:
        consumer.close()


def ensure_topics(settings: Settings) -> None:
    """Create the comment and dead-letter topics if they are missing."""
    admin = make_admin(settings)
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
    client_log = logging.getLogger("kafka")
    level = client_log.level
    client_log.setLevel(logging.CRITICAL)  # each refused connection is our one line's cause
    try:
        admin = make_admin(settings)
    except KafkaTimeoutError:
        raise BrokerUnreachable(
            f"no Kafka broker answers at {settings.kafka_bootstrap} (waited "
            f"{settings.kafka_timeout_s:g}s); start one (`yuqing broker`) or set "
            "YUQING_KAFKA_BOOTSTRAP") from None
    finally:
        client_log.setLevel(level)
    admin.close()


@dataclass(frozen=True)
class Message:
    """One message for Kafka, kept until it is acknowledged so it can be sent again or reported."""

    topic: str
    key: bytes | None
    value: bytes


@dataclass
class _Entry:
    message: Message
    deadline: float  # monotonic; no attempt starts after it
    expires: float  # when the latest attempt's own delivery timeout ends
    attempt: int = 0
    error: BaseException | None = None


# Errors after which a kafka-python producer never sends again: the broker forgot the producer's
# id (a tansu restart forgets everything), the epoch bump kafka-python then tries is answered with
# an error, and the producer stays in its fatal state, failing every later send with a plain
# KafkaError("Unexpected error in InitProducerIdResponse ..."); or the producer was force-closed.
_PRODUCER_LOST = (UnknownProducerIdError, OutOfOrderSequenceNumberError, InvalidProducerEpochError,
                  ProducerFencedError, IllegalStateError)
_POLL_S = 0.1


def _producer_lost(error: BaseException) -> bool:
    return isinstance(error, _PRODUCER_LOST) or type(error) is KafkaError


def _reason(why: str, entry: _Entry) -> str:
    return f"{why} (last error: {entry.error})" if entry.error else why


class Outbox:
    """Sends messages to Kafka and settles each exactly once: ``delivered`` when the broker
    acknowledged it, ``undelivered`` with the reason when it could not be within
    ``kafka_delivery_timeout_s``. Both callbacks may run on any thread.

    A bare :class:`KafkaProducer` (kafka-python 3.0.12) cannot promise that:

    - a producer whose id the broker forgot fails every later send (see ``_PRODUCER_LOST``), so
      such a failure retires it: a fresh producer sends its messages again;
    - ``close(timeout)`` first flushes, and when that times out it raises without failing the
      batches still queued, so their errbacks never run;
    - while it waits for a new producer id (after the broker restarted) it expires nothing, so
      the delivery timeout passes unnoticed. Here it is kept on our own clock: every message
      still unsettled when :meth:`close` gives up is reported as not delivered.

    A message may be delivered twice (sent again after an acknowledgement was lost, or by a
    retired producer still at work); consumers must tolerate duplicates. :meth:`send` never waits
    for Kafka: one thread of ours does, so a caller's event loop keeps running while the broker
    is away. Every unacknowledged message stays in memory until it is settled.
    """

    def __init__(self, settings: Settings, topics: Sequence[str],
                 delivered: Callable[[Message], None],
                 undelivered: Callable[[Message, str], None]) -> None:
        self.settings = settings
        self.topics = tuple(topics)
        self._delivered = delivered
        self._undelivered = undelivered
        self._lock = threading.Lock()
        self._pending: dict[int, _Entry] = {}
        self._queued: deque[int] = deque()
        self._ids = itertools.count()
        self._wake = threading.Event()
        self._closing = False
        self._broken = False  # the current producer failed in a way a fresh one does not
        self._generation = 0
        self._replace_after = 0.0
        self._producer: KafkaProducer | None = None
        self._worker = threading.Thread(target=self._run, name="yuqing-outbox", daemon=True)

    def open(self) -> None:
        """Connect now, so that a broker that is not there fails the caller, not a thread."""
        self._producer = self._new_producer()
        self._worker.start()

    def send(self, message: Message) -> None:
        """Queue ``message``; one of the callbacks settles it later."""
        now = time.monotonic()
        timeout_s = self.settings.kafka_delivery_timeout_s
        with self._lock:
            key = next(self._ids)
            self._pending[key] = _Entry(message, deadline=now + timeout_s, expires=now + timeout_s)
            self._queued.append(key)
        self._wake.set()

    def close(self) -> None:
        """Block until every message is settled: a message waits at most its delivery timeout
        plus, if it had to be sent again, one more from that attempt."""
        self._closing = True
        self._wake.set()
        self._worker.join()
        with self._lock:
            left = list(self._pending.values())
            self._pending.clear()
            self._queued.clear()
        for entry in left:
            self._undelivered(entry.message, _reason(
                f"no acknowledgement within the {self.settings.kafka_delivery_timeout_s:g} s "
                "delivery timeout", entry))

    def _new_producer(self) -> KafkaProducer:
        producer = make_producer(self.settings)
        for topic in self.topics:
            # Metadata now, so a send never waits for it while the broker is away.
            try:
                producer.partitions_for(topic)
            except KafkaError as exc:
                log.warning("no metadata for topic %s yet (%s); the first send asks again",
                            topic, exc)
        return producer

    def _run(self) -> None:
        try:
            while not (self._closing and self._finished()):
                self._wake.wait(_POLL_S)
                self._wake.clear()
                self._expire_queued()
                if self._broken:
                    self._replace()
                if not self._broken:
                    self._send_queued()
        finally:
            if self._producer is not None:
                self._close_producer(self._producer)

    def _finished(self) -> bool:
        """Nothing left, or nothing left that Kafka could still settle."""
        with self._lock:
            if not self._pending:
                return True
            last = max(entry.expires for entry in self._pending.values())
        # Allow one request past the last delivery timeout for the producer to report it.
        return time.monotonic() > last + self.settings.kafka_timeout_s

    def _send_queued(self) -> None:
        assert self._producer is not None, "send before open"
        while True:
            with self._lock:
                if not self._queued:
                    return
                key = self._queued.popleft()
                entry = self._pending.get(key)
                if entry is None:
                    continue
                entry.attempt += 1
                entry.expires = time.monotonic() + self.settings.kafka_delivery_timeout_s
                attempt, generation = entry.attempt, self._generation
            message = entry.message
            try:
                future = self._producer.send(message.topic, key=message.key, value=message.value)
            except KafkaError as exc:  # no metadata or no buffer space within max_block_ms
                with self._lock:
                    entry.error = exc
                    self._queued.appendleft(key)
                    self._broken = self._broken or _producer_lost(exc)
                return
            future.add_callback(self._acked, key)
            future.add_errback(self._failed, key, attempt, generation)

    def _expire_queued(self) -> None:
        """Report the queued messages whose time ran out before they could be sent again."""
        now = time.monotonic()
        with self._lock:
            expired = [key for key in self._queued
                       if key in self._pending and self._pending[key].deadline <= now]
            entries = [self._pending.pop(key) for key in expired]
            self._queued = deque(key for key in self._queued if key in self._pending)
        for entry in entries:
            self._undelivered(entry.message,
                              _reason("the delivery timeout passed before it could be sent", entry))

    def _acked(self, key: int, _metadata: object) -> None:
        with self._lock:
            entry = self._pending.pop(key, None)
        if entry is not None:
            self._delivered(entry.message)

    def _failed(self, key: int, attempt: int, generation: int, error: BaseException) -> None:
        """On the producer's I/O thread: send again what a retry may still deliver, on a fresh
        producer if this one is lost; report the rest (the delivery timeout expired, or the
        broker refused the message itself)."""
        lost = _producer_lost(error)
        worth_again = lost or (getattr(error, "retriable", False)
                               and not isinstance(error, KafkaTimeoutError))
        with self._lock:
            entry = self._pending.get(key)
            if entry is None or entry.attempt != attempt:
                return  # settled already, or sent again since
            entry.error = error
            if worth_again and time.monotonic() < entry.deadline:
                self._queued.append(key)
                self._broken = self._broken or (lost and generation == self._generation)
                self._wake.set()
                return
            del self._pending[key]
        self._undelivered(entry.message, str(error))

    def _replace(self) -> None:
        """Retire the current producer for a fresh one; if none can be made, try again later."""
        if time.monotonic() < self._replace_after:
            return
        try:
            fresh = self._new_producer()
        except KafkaError as exc:
            log.warning("could not replace the Kafka producer: %s; trying again", exc)
            self._replace_after = time.monotonic() + self.settings.kafka_timeout_s
            return
        old, self._producer = self._producer, fresh
        with self._lock:
            self._generation += 1
            self._broken = False
            waiting = len(self._queued)
        log.warning("replaced a Kafka producer that can no longer send; sending %d messages again",
                    waiting)
        if old is not None:
            self._close_producer(old)

    def _close_producer(self, producer: KafkaProducer) -> None:
        try:
            producer.close(timeout=self.settings.kafka_timeout_s)
        except KafkaError as exc:
            # kafka-python leaves its thread running; what it still holds is ours to report.
            log.warning("a Kafka producer did not finish within %g s: %s",
                        self.settings.kafka_timeout_s, exc)
