"""The Kafka reader on the real broker: where it starts, and what it does when the broker comes
back empty (more broker faults in test_broker_faults.py).

The pipelines run on the in-process FnApiRunner in a thread, so the test can stop and restart
the broker under them and read their log records with caplog.
"""

from __future__ import annotations

import logging
import time

import apache_beam as beam
import pytest
from apache_beam.io.restriction_trackers import OffsetRange
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.sdf_utils import RestrictionTrackerView, ThreadsafeRestrictionTracker

from pipeline.broker import EmbeddedBroker
from pipeline.config import Settings
from pipeline.kafka import ensure_topics
from pipeline.runners import LOCAL_OPTIONS
from pipeline.stream import progress
from pipeline.stream.source import (
    END_OF_TIME,
    OffsetsFromHereOn,
    PartitionReset,
    ReadComments,
    ReadPartitions,
    topic_shape,
)
from tests.utils.background import InThread, run_locally, wait_until
from tests.utils.brokers import ON_EACH_BROKER, commit, produce_to

pytestmark = pytest.mark.integration

SOURCE_LOGGER = "pipeline.stream.source"


def start_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == SOURCE_LOGGER and "starting at offset" in r.getMessage()]


def test_start_is_logged_with_the_committed_offset_and_the_partition_end(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    produce_to(settings, 0, 7)
    commit(settings, 0, 7)
    produce_to(settings, 1, 4)
    reader = ReadPartitions(settings, topic_shape(settings, settings.topic_comments))

    restrictions = [reader.initial_restriction((settings.topic_comments, p)) for p in (0, 1, 2)]

    assert [r.start for r in restrictions] == [7, 0, 0]
    assert start_lines(caplog) == [
        "comments/0: starting at offset 7, the committed offset of consumer group "
        "'yuqing-pipeline' (partition ends at 7); set YUQING_CONSUMER_GROUP to a new name to "
        "re-read from the beginning",
        "comments/1: starting at offset 0: consumer group 'yuqing-pipeline' has no committed "
        "offset (partition ends at 4)",
        "comments/2: starting at offset 0: consumer group 'yuqing-pipeline' has no committed "
        "offset (partition ends at 0)",
    ]


def test_a_running_job_logs_where_each_partition_starts(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    produce_to(settings, 2, 3)

    with beam.Pipeline(options=PipelineOptions(LOCAL_OPTIONS)) as pipeline:
        _ = pipeline | ReadComments(settings, settings.topic_comments, idle_stop_s=1)

    assert sorted(start_lines(caplog)) == [
        f"comments/{p}: starting at offset 0: consumer group 'yuqing-pipeline' has no "
        f"committed offset (partition ends at {end})" for p, end in ((0, 0), (1, 0), (2, 3))
    ]


def read_so_far() -> int:
    return progress.COUNTERS.snapshot()["read"]


def test_a_broker_restarted_empty_under_the_job_fails_it(settings: Settings,
                                                         broker: EmbeddedBroker) -> None:
    for partition in (0, 1, 2):
        produce_to(settings, partition, 10)
    before = read_so_far()
    # idle_stop_s: a reader that missed the reset ends quietly instead of hanging the test.
    job = InThread(lambda: run_locally(lambda p: p | ReadComments(
        settings, settings.topic_comments, idle_stop_s=20)))
    wait_until(lambda: read_so_far() - before >= 30 or job.join(0), 60, "30 messages read")

    broker.stop()
    broker.start()
    ensure_topics(settings)  # as `yuqing broker` does; the new partitions are empty

    assert job.join(30), "the job went on reading after the broker lost its topics"
    assert isinstance(job.error, PartitionReset), job.error
    message = str(job.error)
    assert "\n" not in message
    assert "was reset under the running job: the broker's log is back at offset 0, below " \
           "offset 10 that the job had read up to" in message
    assert "YUQING_CONSUMER_GROUP" in message


def test_a_partition_is_checkpointed_at_its_position_but_never_cut_in_two() -> None:
    # What Prism asks for: half of an endless remainder would start near sys.maxsize / 2.
    tracker = OffsetsFromHereOn(OffsetRange(7, END_OF_TIME))
    assert tracker.try_claim(7)

    assert tracker.try_split(0.5) is None
    assert tracker.try_split(0) == (OffsetRange(7, 8), OffsetRange(8, END_OF_TIME))


class _Finalizer:
    """A stand-in for Beam's bundle finalizer: no bundle finishes here, so nothing is
    committed."""

    def register(self, callback: object) -> None:
        pass


def _read_once(reader: ReadPartitions, element: tuple[str, int], start: int) -> list[int]:
    """The offsets one call of the reading step hands over, from ``start`` on."""
    tracker = ThreadsafeRestrictionTracker(OffsetsFromHereOn(OffsetRange(start, END_OF_TIME)))
    return [message.value.offset for message in reader.process(
        element, finalizer=_Finalizer(), tracker=RestrictionTrackerView(tracker),
        watermark=ManualWatermarkEstimator(None))]


@ON_EACH_BROKER
def test_a_partition_read_again_hands_over_every_message_that_arrived_since(
        settings: Settings) -> None:
    # kafka-python sends the next fetch as it hands over a batch it had buffered, and the broker
    # answers that fetch with the first message to arrive; the reader must not stop at that one
    # and leave the rest for a round later (at 100 comments/s, a third of them waited so).
    reader = ReadPartitions(settings, topic_shape(settings, settings.topic_comments))
    reader.setup()
    element = (settings.topic_comments, 0)
    try:
        for _ in range(5):  # connected, and a fetch waiting at the broker
            assert _read_once(reader, element, 0) == []
        produce_to(settings, 0, 1)
        time.sleep(0.2)  # the fetch's answer is buffered in the consumer
        assert _read_once(reader, element, 0) == [0]
        time.sleep(0.02)
        produce_to(settings, 0, 1)  # answers the fetch sent as offset 0 was handed over
        time.sleep(0.3)
        produce_to(settings, 0, 5)

        assert _read_once(reader, element, 1) == [1, 2, 3, 4, 5, 6]
    finally:
        reader.teardown()
