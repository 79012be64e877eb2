"""Read Kafka from Python Beam without the Java expansion service.

One splittable DoFn element per topic partition; its restriction is the offset range from the
group's committed offset onwards. Offsets are committed in a bundle-finalization callback, which
the runner calls only after every fused step of the bundle — the store sink included — has
finished. A crash before that replays the messages instead of losing them (at-least-once); the
sink's upserts make the replay harmless.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.metrics import Metrics
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Duration, Timestamp
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from pipeline.config import Settings
from pipeline.kafka import make_consumer

log = logging.getLogger(__name__)

# An unbounded restriction: Kafka offsets never reach it.
END_OF_TIME = sys.maxsize


@dataclass(frozen=True)
class KafkaMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None  # None for a tombstone
    timestamp_ms: int


def list_partitions(settings: Settings, topic: str) -> list[tuple[str, int]]:
    """The partitions to read, fixed when the job starts."""
    consumer = make_consumer(settings)
    try:
        partitions = consumer.partitions_for_topic(topic)
    finally:
        consumer.close()
    if not partitions:
        raise RuntimeError(f"topic {topic!r} does not exist on {settings.kafka_bootstrap}")
    return [(topic, partition) for partition in sorted(partitions)]


class ReadPartitions(beam.DoFn, RestrictionProvider):
    """Poll one partition per call, then defer the rest of the range so the bundle can commit.

    Each partition starts at the consumer group's committed offset (or the beginning). With
    ``idle_stop_s`` set the job is batch-like: a partition that has returned nothing for that
    long claims the end of its range and finishes, and the job ends when all have.
    """

    def __init__(self, settings: Settings, idle_stop_s: float | None = None,
                 poll_timeout_ms: int = 200) -> None:
        self._settings = settings
        self._idle_stop_s = idle_stop_s
        self._poll_timeout_ms = poll_timeout_ms
        self._consumers: dict[tuple[str, int], KafkaConsumer] = {}
        self._idle_since: dict[tuple[str, int], float] = {}
        self._read = Metrics.counter("yuqing", "read")

    def initial_restriction(self, element: tuple[str, int]) -> OffsetRange:
        # A throwaway consumer: this may run in a different copy of the DoFn than ``process``.
        consumer = make_consumer(self._settings)
        try:
            committed = consumer.committed(TopicPartition(*element))
        finally:
            consumer.close()
        return OffsetRange(committed or 0, END_OF_TIME)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element: tuple[str, int], restriction: OffsetRange) -> int:
        return 1

    def teardown(self) -> None:
        for consumer in self._consumers.values():
            consumer.close()
        self._consumers.clear()

    def _consumer(self, element: tuple[str, int]) -> KafkaConsumer:
        if element not in self._consumers:
            consumer = make_consumer(self._settings)
            consumer.assign([TopicPartition(*element)])
            self._consumers[element] = consumer
        return self._consumers[element]

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        element: tuple[str, int],
        finalizer=beam.DoFn.BundleFinalizerParam,
        tracker=beam.DoFn.RestrictionParam(),
        watermark=beam.DoFn.WatermarkEstimatorParam(ManualWatermarkEstimator.default_provider()),
    ) -> Iterator[KafkaMessage]:
        partition = TopicPartition(*element)
        consumer = self._consumer(element)
        start = tracker.current_restriction().start
        if consumer.position(partition) != start:
            consumer.seek(partition, start)
        batch = consumer.poll(timeout_ms=self._poll_timeout_ms).get(partition, [])
        last_offset: int | None = None
        for message in batch:
            if not tracker.try_claim(message.offset):
                return
            last_offset = message.offset
            self._read.inc()
            yield KafkaMessage(message.topic, message.partition, message.offset, message.key,
                               message.value, message.timestamp)
        now = time.monotonic()
        if last_offset is not None:
            self._idle_since.pop(element, None)
            finalizer.register(lambda: self._commit(consumer, partition, last_offset + 1))
            _advance(watermark, Timestamp.of(batch[-1].timestamp / 1000))
            tracker.defer_remainder()
            return
        idle_since = self._idle_since.setdefault(element, now)
        if self._idle_stop_s is not None and now - idle_since >= self._idle_stop_s:
            log.info("partition %s idle for %.1fs: done", element, now - idle_since)
            tracker.try_claim(END_OF_TIME)
            return
        _advance(watermark, Timestamp.now())
        tracker.defer_remainder(Duration(seconds=0.5))

    def _commit(self, consumer: KafkaConsumer, partition: TopicPartition, offset: int) -> None:
        try:
            consumer.commit({partition: OffsetAndMetadata(offset, "", -1)})
        except KafkaError:
            # Not fatal: the next commit covers this one, and a restart replays (at-least-once).
            log.warning("committing offset %d of %s failed", offset, partition, exc_info=True)


def _advance(estimator: ManualWatermarkEstimator, timestamp: Timestamp) -> None:
    current = estimator.current_watermark()
    if current is None or timestamp > current:
        estimator.set_watermark(timestamp)


class ReadComments(beam.PTransform):
    """Every message of ``topic`` as a :class:`KafkaMessage`, from the committed offsets on."""

    def __init__(self, settings: Settings, topic: str, idle_stop_s: float | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._topic = topic
        self._idle_stop_s = idle_stop_s

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection[KafkaMessage]:
        partitions = list_partitions(self._settings, self._topic)
        return (
            pbegin
            | "Partitions" >> beam.Create(partitions)
            | "Poll" >> beam.ParDo(ReadPartitions(self._settings, self._idle_stop_s))
        )
