"""Read Kafka from Python Beam without the Java expansion service.

One splittable DoFn element per topic partition; its restriction is the offset range from the
group's committed offset onwards. Offsets are committed in a bundle-finalization callback, which
the runner calls only after every fused step of the bundle — the store sink included — has
finished. A crash before that replays the messages instead of losing them (at-least-once); the
sink's upserts make the replay harmless.

Each partition logs where it starts and why (the group's committed offset, or none), since a
reused consumer group silently reads nothing new.

The job reads the topic as it was when the job started: its id and its partitions
(:class:`TopicShape`). Every few seconds it asks the broker again. A topic recreated under the
job (a new id, or a log that restarts below the job's position: topic deleted and created, a
memory-only broker restarted) fails the job with :class:`PartitionReset`; new partitions fail it
with :class:`PartitionsAdded`, since the set of partitions a Beam job reads is fixed when it
starts. Both are operator errors, one line each, and a restarted job does the right thing: each
committed offset carries the topic id it was made on, so an offset from an earlier topic of the
same name (a late commit can reach a restarted broker) is ignored rather than skipping the new
topic's first messages. A broker that is merely down is waited for, with a warning a minute,
and with ``--until-idle`` its downtime is not idleness: a partition ends only once the broker has
confirmed there is nothing more to read.
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
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Duration, Timestamp
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, RetriableError
from kafka.structs import OffsetAndMetadata

from pipeline.config import Settings
from pipeline.errors import OperatorError
from pipeline.kafka import MAX_POLL_RECORDS, make_admin, make_consumer
from pipeline.stream import progress, shutdown

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


@dataclass(frozen=True)
class TopicShape:
    """A topic as the broker describes it: which topic of that name (its id, new each time the
    topic is created; None from a broker too old to say) and its partitions."""

    topic: str
    topic_id: str | None
    partitions: tuple[int, ...]

    def elements(self) -> list[tuple[str, int]]:
        return [(self.topic, partition) for partition in self.partitions]


def describe_topic(admin: KafkaAdminClient, topic: str) -> TopicShape | None:
    """The topic's shape now, or None if the broker does not have it."""
    (found,) = admin.describe_topics([topic])
    if found.get("error_code") or not found["partitions"]:
        return None
    topic_id = found.get("topic_id")
    return TopicShape(topic, str(topic_id) if topic_id else None,
                      tuple(sorted(p["partition_index"] for p in found["partitions"])))


def topic_shape(settings: Settings, topic: str) -> TopicShape:
    """The shape the job reads the topic as, fixed when it starts."""
    admin = make_admin(settings)
    try:
        shape = describe_topic(admin, topic)
    finally:
        admin.close()
    if shape is None:
        raise RuntimeError(f"topic {topic!r} does not exist on {settings.kafka_bootstrap}")
    return shape


class OffsetsFromHereOn(OffsetRestrictionTracker):
    """A partition's offsets from a position on, without end: checkpointed, never cut in two.

    A runner that splits work dynamically (Prism does, Flink may) asks to split a restriction by
    a fraction of what remains. For ``[start, END_OF_TIME)`` half of the remainder starts near
    ``sys.maxsize / 2``, an offset no Kafka log reaches: the split-off half would read nothing
    and, seeking there, look like a log that was reset. Only the checkpoint at the current
    position (a fraction of 0, which ``defer_remainder`` asks for) is granted.
    """

    def try_split(self, fraction_of_remainder: float) -> tuple[OffsetRange, OffsetRange] | None:
        if fraction_of_remainder > 0:
            return None
        return super().try_split(0)


class PartitionReset(OperatorError, RuntimeError):
    """A partition's log restarted below the offset the job had reached, its topic was
    recreated, or it vanished.

    Fatal rather than retried: reading on from our old offset would silently skip the new log's
    first messages (or wait forever for an offset that will not come back), and the committed
    offsets describe a log that no longer exists. The local runner re-raises it as it is, so
    ``yuqing`` prints its one-line message as it does for every :class:`OperatorError`.
    """


class PartitionsAdded(OperatorError, RuntimeError):
    """The topic gained partitions while the job ran; only a restarted job reads them.

    Fatal rather than ignored: producers write to the new partitions at once, and a job that
    went on would never read those messages.
    """


class ReadPartitions(beam.DoFn, RestrictionProvider):
    """Poll one partition per call, then defer the rest of the range so the bundle can commit.

    Each partition starts at the consumer group's committed offset (or the beginning). With
    ``idle_stop_s`` set the job is batch-like: a partition that has returned nothing for that
    long claims the end of its range and finishes, and the job ends when all have.

    A poll that returns nothing is the cue to look at the broker: a high watermark below our
    position means the log was recreated (:class:`PartitionReset`); every ``probe_every_s`` an
    idle partition also asks the broker for its end offset, which tells a quiet topic from a
    broker that is down, and checks that the partition still exists. A broker that is down is
    waited for, with a warning at most every ``warn_every_s``.
    """

    def __init__(self, settings: Settings, shape: TopicShape, idle_stop_s: float | None = None,
                 poll_timeout_ms: int | None = None, probe_every_s: float = 10.0,
                 warn_every_s: float = 60.0) -> None:
        self._settings = settings
        self._shape = shape
        self._idle_stop_s = idle_stop_s
        self._poll_timeout_ms = (max(1, IDLE_ROUND_MS // len(shape.partitions))
                                 if poll_timeout_ms is None else poll_timeout_ms)
        self._probe_every_s = probe_every_s
        self._warn_every_s = warn_every_s
        self._consumers: dict[tuple[str, int], KafkaConsumer] = {}
        self._idle_since: dict[tuple[str, int], float] = {}
        self._probe_at: dict[tuple[str, int], float] = {}
        # The newest offset of each partition this copy has committed.
        self._committed: dict[tuple[str, int], int] = {}
        # The high watermark each partition's consumer had when it last had to seek.
        self._stale_highwater: dict[tuple[str, int], int | None] = {}
        # The newest offset of each partition whose commit failed and is still owed.
        self._owed: dict[tuple[str, int], int] = {}
        self._broker: _BrokerSilence | None = None
        self._topic: _TopicWatch | None = None
        self._progress: progress.Reporter | None = None
        self._read = Metrics.counter("yuqing", "read")

    def setup(self) -> None:
        self._broker = _BrokerSilence(self._settings.kafka_bootstrap, self._probe_every_s,
                                      self._warn_every_s)
        self._topic = _TopicWatch(self._settings, self._shape, self._probe_every_s)
        self._progress = progress.shared_reporter(self._settings.progress_interval_s)

    def initial_restriction(self, element: tuple[str, int]) -> OffsetRange:
        # A throwaway consumer: this may run in a different copy of the DoFn than ``process``.
        # A short fetch wait: the fetch that finds the log's end must not wait for new data
        # (0 makes tansu never answer).
        partition = TopicPartition(*element)
        consumer = make_consumer(self._settings, fetch_max_wait_ms=10)
        try:
            resumed, end = self._resume(consumer, partition)
        finally:
            consumer.close()
        start = resumed or 0
        log.info("%s", _start_line(partition, start, resumed, end,
                                   self._settings.consumer_group))
        return OffsetRange(start, END_OF_TIME)

    def _resume(self, consumer: KafkaConsumer, partition: TopicPartition
                ) -> tuple[int | None, int | None]:
        """Where the group left off, if that offset belongs to this log; and the log's end.

        A committed offset is ignored if it carries another topic id (it was made on an earlier
        topic of the same name) or lies past the log's end. Offsets committed before ids were
        recorded carry none, and tansu keeps no commit metadata: for those, only the second test
        applies.
        """
        committed = consumer.committed(partition, metadata=True)
        end = _log_end(consumer, partition, committed.offset if committed else 0)
        if committed is None:
            return None, end
        made_on, current = committed.metadata, self._shape.topic_id
        if made_on and current and made_on != current:
            why = (f"it was made on an earlier topic of that name (id {made_on}; the topic now "
                   f"has id {current})")
        elif end is not None and committed.offset > end:
            why = (f"it is past the partition's end, {end}, so it was made on an earlier log "
                   "(topic recreated, or a memory-only broker restarted)")
        else:
            return committed.offset, end
        log.warning("%s/%d: ignoring committed offset %d of consumer group %r: %s; starting at "
                    "offset 0", partition.topic, partition.partition, committed.offset,
                    self._settings.consumer_group, why)
        return None, end

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetsFromHereOn(restriction)

    def restriction_size(self, element: tuple[str, int], restriction: OffsetRange) -> int:
        return 1

    def teardown(self) -> None:
        for consumer in self._consumers.values():
            consumer.close()
        self._consumers.clear()
        if self._topic is not None:
            self._topic.close()

    def _consumer(self, element: tuple[str, int], start: int) -> KafkaConsumer:
        if element not in self._consumers:
            # Seeking at once spares the consumer from asking the broker for the committed
            # offset, a call that would block, not poll, while the broker is down. A broker
            # that is down when the consumer is created holds it up for one request timeout,
            # not kafka-python's default 30 s.
            partition = TopicPartition(*element)
            consumer = make_consumer(
                self._settings, bootstrap_timeout_ms=int(self._settings.kafka_timeout_s * 1000),
                fetch_max_wait_ms=FETCH_WAIT_MS)
            consumer.assign([partition])
            consumer.seek(partition, start)
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
        start = tracker.current_restriction().start
        if shutdown.requested():
            self._stop(element, start, tracker, finalizer)
            return
        consumer, batch = self._poll(element, start)
        now = time.monotonic()
        self._topic.check(now)
        self._inspect(consumer, partition, start, batch, now)
        self._progress.maybe_report()
        last_offset: int | None = None
        for message in batch:
            if not tracker.try_claim(message.offset):
                return
            last_offset = message.offset
            self._read.inc()
            progress.add("read")
            # Stamped with the record's own time, so that windows count comments by when
            # they were written down, not by when the job happened to read them.
            yield TimestampedValue(
                KafkaMessage(message.topic, message.partition, message.offset, message.key,
                             message.value, message.timestamp),
                Timestamp.of(message.timestamp / 1000))
        if last_offset is not None:
            self._idle_since.pop(element, None)
            finalizer.register(lambda: self._commit(consumer, partition, last_offset + 1))
            _advance(watermark, Timestamp.of(batch[-1].timestamp / 1000))
            tracker.defer_remainder()
            return
        if consumer is not None and start > self._committed.get(element, -1):
            # Commit what the last messages' bundle should have: a runner may never finalize
            # that bundle (Flink's job server, now and then, the last one before a pause), and
            # a quiet partition brings no later bundle to commit a newer offset.
            finalizer.register(lambda: self._commit(consumer, partition, start))
        idle_since = self._idle_since.setdefault(element, now)
        if self._idle_stop_s is not None and now - idle_since >= self._idle_stop_s:
            if _read_to_end(consumer, partition, start) and self._settle(consumer, partition):
                log.info("partition %s idle for %.1fs: done", element, now - idle_since)
                tracker.try_claim(END_OF_TIME)
                return
            self._idle_since[element] = now  # a broker that cannot confirm it is not idleness
        if consumer is not None and _caught_up(self._highwater(consumer, partition), start):
            _advance(watermark, Timestamp.now() - IDLE_WATERMARK_LAG_S)
        tracker.defer_remainder(Duration(seconds=0.5))

    def _stop(self, element: tuple[str, int], start: int, tracker: OffsetRestrictionTracker,
              finalizer: beam.DoFn.BundleFinalizerParam) -> None:
        """End the partition at ``start`` on a stop signal, committing up to there: the bundle
        of the last messages read may never be finalized once the stream ends."""
        consumer = self._consumers.get(element)
        if consumer is not None and start > self._committed.get(element, -1):
            partition = TopicPartition(*element)
            finalizer.register(lambda: self._commit(consumer, partition, start))
        log.info("%s/%d: stopped at offset %d", element[0], element[1], start)
        tracker.try_claim(END_OF_TIME)

    def _poll(self, element: tuple[str, int], start: int
              ) -> tuple[KafkaConsumer | None, list[ConsumerRecord]]:
        """The partition's consumer and what one poll brought, from offset ``start`` on.

        No consumer while the broker cannot be reached: kafka-python raises instead of waiting
        when it has never connected (creating a consumer, the group's first poll). The job
        waits for the broker like an idle partition does, rather than fail.
        """
        partition = TopicPartition(*element)
        try:
            consumer = self._consumer(element, start)
            if consumer.position(partition) != start:
                # The partition was read elsewhere since (a runner moved the restriction to
                # another copy of this DoFn, or retried a bundle): until a fetch from here
                # answers, this consumer's high watermark is an old one, which would look
                # like a reset log (see _highwater).
                consumer.seek(partition, start)
                self._stale_highwater[element] = consumer.highwater(partition)
            batch = consumer.poll(timeout_ms=self._poll_timeout_ms).get(partition, [])
            if batch and len(batch) < MAX_POLL_RECORDS:
                # Handing over a batch it had buffered, kafka-python sends the next fetch, and
                # the broker answers that fetch with the first message to arrive: the next
                # poll, a round later, got that one message and the rest waited another round.
                # A second, short poll takes what the fetch it sent finds. Not in a backlog:
                # the batch was full, and the next one waits in the consumer already.
                batch += consumer.poll(timeout_ms=CATCH_UP_MS).get(partition, [])
            if batch:
                self._stale_highwater.pop(element, None)
            return consumer, batch
        except RetriableError:
            return None, []

    def _inspect(self, consumer: KafkaConsumer | None, partition: TopicPartition, start: int,
                 batch: list[ConsumerRecord], now: float) -> None:
        """Between poll and emit: notice a broker that is silent, or a partition that was reset
        or is gone, before any message of a new log is mistaken for the old one's; note the lag.
        """
        if consumer is None:
            self._broker.silent(now, partition)
            return
        if batch:
            _check_not_rewound(partition, start, batch[0].offset)
            self._broker.heard(now)
        else:
            self._check_partition(consumer, partition, start, now)
        self._record_lag(consumer, partition, batch[-1].offset + 1 if batch else start)

    def _highwater(self, consumer: KafkaConsumer, partition: TopicPartition) -> int | None:
        """The partition's high watermark as the last fetch reported it; None before the first
        fetch, or while it is still the one from before a seek (a fetch that answers since
        changes it, or brings messages)."""
        highwater = consumer.highwater(partition)
        element = (partition.topic, partition.partition)
        if element in self._stale_highwater:
            if highwater == self._stale_highwater[element]:
                return None
            del self._stale_highwater[element]
        return highwater

    def _check_partition(self, consumer: KafkaConsumer, partition: TopicPartition, start: int,
                         now: float) -> None:
        """After an empty poll: raise :class:`PartitionReset` if the log restarted; tell a quiet
        partition from a silent broker.

        The high watermark is the consumer's own state, free to read on every empty poll; the
        probe is a round trip, so each partition makes one at most every ``probe_every_s``.
        """
        highwater = self._highwater(consumer, partition)
        if highwater is not None and highwater < start:
            raise PartitionReset(_reset_line(partition, start, highwater))
        element = (partition.topic, partition.partition)
        if now < self._probe_at.setdefault(element, now + self._probe_every_s):
            return
        self._probe_at[element] = now + self._probe_every_s
        if _broker_answers(consumer, partition):
            self._broker.heard(now)
            self._settle(consumer, partition)
        else:
            self._broker.silent(now, partition)

    def _record_lag(self, consumer: KafkaConsumer, partition: TopicPartition,
                    position: int) -> None:
        highwater = consumer.highwater(partition)  # known once a fetch has answered
        if highwater is not None:
            self._progress.record_lag(partition.topic, partition.partition,
                                      max(0, highwater - position))

    def _commit(self, consumer: KafkaConsumer, partition: TopicPartition, offset: int,
                timeout_ms: int | None = None) -> bool:
        """Commit ``offset``; if that fails, owe it until a newer commit or :meth:`_settle`
        pays.

        Not fatal: a restart replays what was not committed (at-least-once). But a partition
        that goes quiet brings no newer commit, so a failed commit (the broker down at that
        moment) would leave its messages to be read again by every restart.
        """
        element = (partition.topic, partition.partition)
        try:
            # The topic id goes with the offset: see _resume.
            consumer.commit({partition: OffsetAndMetadata(offset, self._shape.topic_id or "", -1)},
                            timeout_ms=timeout_ms)
        except KafkaError as error:
            if offset > self._owed.get(element, -1):
                self._owed[element] = offset
                log.warning("committing offset %d of %s/%d failed (%s); retrying it once the "
                            "broker answers", offset, partition.topic, partition.partition, error)
            return False
        if offset >= self._owed.get(element, -1):
            self._owed.pop(element, None)
        self._committed[element] = max(offset, self._committed.get(element, -1))
        return True

    def _settle(self, consumer: KafkaConsumer, partition: TopicPartition) -> bool:
        """Pay the partition's owed commit, if any; whether nothing is owed now."""
        owed = self._owed.get((partition.topic, partition.partition))
        if owed is None:
            return True
        if not self._commit(consumer, partition, owed, PROBE_TIMEOUT_MS):
            return False
        log.info("committed offset %d of %s/%d, owed since a commit failed", owed,
                 partition.topic, partition.partition)
        return True


class _BrokerSilence:
    """How long the broker has not answered, warned about at most once every ``warn_every_s``.

    Shared by the partitions of one reader: they all talk to the same broker, so one outage is
    one warning, not one per partition. Each partition has its own consumer, and those
    reconnect one after another, so a recovery does not reopen the warning window: a consumer
    still backing off would warn again about the outage just reported as over.
    """

    def __init__(self, bootstrap: str, grace_s: float, warn_every_s: float) -> None:
        self._bootstrap = bootstrap
        self._grace_s = grace_s
        self._warn_every_s = warn_every_s
        self._heard_at = time.monotonic()
        self._warned_at: float | None = None
        self._reported_outage = False

    def heard(self, now: float) -> None:
        if self._reported_outage:
            log.info("the Kafka broker at %s answers again after %.0f s; reading on",
                     self._bootstrap, now - self._heard_at)
            self._reported_outage = False
        self._heard_at = now

    def silent(self, now: float, partition: TopicPartition) -> None:
        if now - self._heard_at < self._grace_s:
            return  # a blip, not an outage
        if self._warned_at is not None and now - self._warned_at < self._warn_every_s:
            return
        self._warned_at = now
        self._reported_outage = True
        log.warning("no data from the Kafka broker at %s for %.0f s (%s/%d); still waiting "
                    "for it: is it running and reachable?", self._bootstrap,
                    now - self._heard_at, partition.topic, partition.partition)


class _TopicWatch:
    """Compare the topic with the shape the job started with, every ``every_s``.

    Shared by the partitions of one reader, as one question answers for all of them. A broker
    that cannot be asked proves nothing: that is an outage, which the partitions' own probes
    report.
    """

    def __init__(self, settings: Settings, shape: TopicShape, every_s: float) -> None:
        self._settings = settings
        self._shape = shape
        self._every_s = every_s
        self._next_at = time.monotonic() + every_s
        self._admin: KafkaAdminClient | None = None

    def check(self, now: float) -> None:
        if now < self._next_at:
            return
        self._next_at = now + self._every_s
        try:
            if self._admin is None:
                self._admin = make_admin(self._settings, timeout_ms=PROBE_TIMEOUT_MS)
            current = describe_topic(self._admin, self._shape.topic)
        except KafkaError:
            return
        started = self._shape
        where = f"topic {started.topic!r} on the Kafka broker at {self._settings.kafka_bootstrap}"
        if current is None:
            raise PartitionReset(f"{where} no longer exists (deleted?); recreate the topic and "
                                 "restart the job")
        if started.topic_id and current.topic_id and current.topic_id != started.topic_id:
            raise PartitionReset(
                f"{where} was recreated under the running job (id {started.topic_id}, now "
                f"{current.topic_id}); restart the job: it reads the new topic from its "
                "beginning")
        if added := sorted(set(current.partitions) - set(started.partitions)):
            raise PartitionsAdded(
                f"{where} gained partitions {added} while the job ran; restart the job to read "
                "them (it reads the partitions a topic has when it starts)")

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None


# How long one round of polls over the comments' partitions may wait for messages, all of them
# idle: what keeps a quiet job from spinning. Divided among the partitions: on the local runner
# every step shares one thread, so a poll waiting on a quiet partition holds up every partition
# that has messages (200 ms a partition had three quiet ones stop a busy job for 0.6 s a round).
# A poll that has messages returns at once, so this bounds a quiet stream's cost, not a busy
# one's latency: with the dead letters' wait moved here (SIDE_TOPIC_POLL_MS), an idle job still
# makes about five rounds a second, and p95 at 100 comments/s fell from 0.32-0.36 s to 0.29 s.
IDLE_ROUND_MS = 200
# How long a poll of a quiet side topic (the dead letters) may wait: the comments' reader waits
# for a quiet job. On the local runner both readers share one thread, and the dead letters' own
# 100 ms a round made every round of a busy job 0.1 s longer.
SIDE_TOPIC_POLL_MS = 1
# How long the second poll of a partition that had messages waits for what came since (see
# ReadPartitions._poll): a fetch round trip to a broker that has them.
CATCH_UP_MS = 5
# How long the broker may hold a fetch of a quiet partition open. The consumer's other requests
# (the probes of an idle partition, its end offset) queue behind it on the same connection, and
# the thread that asked waits for them: at Kafka's default of 500 ms, each probe held the job up
# for about 0.4 s. A message that arrives is still sent at once.
FETCH_WAIT_MS = 100
# How far behind the clock a caught-up partition's watermark stays: a message stamped by its
# producer just before the fetch that found the partition empty reaches the broker after it.
IDLE_WATERMARK_LAG_S = 2.0
# How long a probe of an idle partition may take before the broker counts as silent.
PROBE_TIMEOUT_MS = 2_000
# How long initial_restriction looks for a partition's end before logging it as unknown.
LOG_END_TIMEOUT_S = 5.0


def _read_to_end(consumer: KafkaConsumer | None, partition: TopicPartition, position: int
                 ) -> bool:
    """Whether the broker confirms, now, that nothing lies beyond ``position``.

    An idle partition may end only then: a broker that is down has not said the partition is
    empty. tansu under-reports the end (see :func:`_broker_answers`), which errs towards
    "nothing more": its reports are never above the true end.
    """
    if consumer is None:
        return False
    try:
        end = consumer.end_offsets([partition], timeout_ms=PROBE_TIMEOUT_MS)[partition]
    except KafkaError:
        return False
    return end <= position


def _caught_up(highwater: int | None, position: int) -> bool:
    """Whether the last fetch reported nothing past ``position``: only then may an idle
    partition's watermark move to the clock. Before the first fetch has answered (a poll often
    returns nothing at first) the partition may hold old messages, which would arrive behind the
    watermark: late, dropped by windows that have closed."""
    return highwater is not None and highwater <= position


def _broker_answers(consumer: KafkaConsumer, partition: TopicPartition) -> bool:
    """Whether the broker answers a request for ``partition``'s end offset in time.

    Only the answer counts, not its value: tansu answers ListOffsets(latest) with the start of
    the partition's last batch plus one, below the true end.
    """
    try:
        consumer.end_offsets([partition], timeout_ms=PROBE_TIMEOUT_MS)
    except KafkaError:
        return False
    return True


def _log_end(consumer: KafkaConsumer, partition: TopicPartition, start: int) -> int | None:
    """The partition's high watermark, as a fetch reports it; None if no fetch answered.

    Not ``end_offsets()``: tansu under-reports it (see :func:`_broker_answers`).
    """
    consumer.assign([partition])
    consumer.seek(partition, start)
    deadline = time.monotonic() + LOG_END_TIMEOUT_S
    while consumer.highwater(partition) is None and time.monotonic() < deadline:
        consumer.poll(timeout_ms=100, max_records=1)
    return consumer.highwater(partition)


def _start_line(partition: TopicPartition, start: int, committed: int | None, end: int | None,
                group: str) -> str:
    where = f"{partition.topic}/{partition.partition}"
    ends = f"partition ends at {end}" if end is not None else "partition end unknown"
    if committed is None:
        return (f"{where}: starting at offset {start}: consumer group {group!r} has no "
                f"committed offset ({ends})")
    return (f"{where}: starting at offset {start}, the committed offset of consumer group "
            f"{group!r} ({ends}); set YUQING_CONSUMER_GROUP to a new name to re-read from the "
            "beginning")


def _check_not_rewound(partition: TopicPartition, start: int, first_offset: int) -> None:
    """A real Kafka answers a fetch past a truncated log's end with OFFSET_OUT_OF_RANGE, and the
    consumer silently resets to the earliest offset: records below our position mean that."""
    if first_offset < start:
        raise PartitionReset(_reset_line(partition, start, first_offset))


def _reset_line(partition: TopicPartition, start: int, end: int) -> str:
    return (f"{partition.topic}/{partition.partition} was reset under the running job: the "
            f"broker's log is back at offset {end}, below offset {start} that the job had read "
            "up to (topic recreated, or a memory-only broker restarted); restart the job with a "
            "new YUQING_CONSUMER_GROUP to read the new log from the beginning")


def _advance(estimator: ManualWatermarkEstimator, timestamp: Timestamp) -> None:
    current = estimator.current_watermark()
    if current is None or timestamp > current:
        estimator.set_watermark(timestamp)


class ReadComments(beam.PTransform):
    """Every message of ``topic`` as a :class:`KafkaMessage`, from the committed offsets on.

    Each partition is one element, and its restriction is never split
    (:class:`OffsetsFromHereOn`), so exactly one copy of the reader owns a partition at a time:
    running the job with a runner's parallelism (``yuqing run --runner flink --parallelism N``)
    shares the partitions among N workers, and never has two of them read the same one. The
    elements are spread first: a runner runs the steps after ``Create`` where ``Create`` ran,
    and on Flink without the spread every partition was read by the one worker that listed them
    while the others stood idle.
    """

    def __init__(self, settings: Settings, topic: str, idle_stop_s: float | None = None,
                 poll_timeout_ms: int | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._topic = topic
        self._idle_stop_s = idle_stop_s
        self._poll_timeout_ms = poll_timeout_ms

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection[KafkaMessage]:
        shape = topic_shape(self._settings, self._topic)
        return (
            pbegin
            | "Partitions" >> beam.Create(shape.elements())
            | "Spread" >> beam.Reshuffle()
            | "Poll" >> beam.ParDo(ReadPartitions(self._settings, shape, self._idle_stop_s,
                                                  self._poll_timeout_ms))
        )
