"""The job when the broker fails or changes under it: killed and restarted, topics recreated,
partitions added. A real Apache Kafka broker where its disk matters (a restart keeps the data);
tansu where a restart must lose it (a memory-only broker is what recreates topics under a job).

Readers run on the in-process FnApiRunner in a thread, so the test can break the broker under
them and read their log records with caplog.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import apache_beam as beam
import pytest
from kafka import TopicPartition
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devkit.bench.reference import expected_alerts
from devkit.hostile import cycled_records, produce_records
from pipeline.broker import EmbeddedBroker
from pipeline.config import Settings
from pipeline.kafka import ensure_topics, make_admin, make_consumer
from pipeline.kafka_server import KafkaServer
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import Alert, AlertVersion
from pipeline.stream import progress
from pipeline.stream.run import run
from pipeline.stream.source import (
    PartitionReset,
    PartitionsAdded,
    ReadPartitions,
    describe_topic,
    topic_shape,
)
from tests.utils.background import InThread, run_locally, wait_until
from tests.utils.brokers import commit, own_topics, produce_to

pytestmark = pytest.mark.integration

SOURCE_LOGGER = "pipeline.stream.source"


def read_so_far() -> int:
    return progress.COUNTERS.snapshot()["read"]


def committed(settings: Settings, partitions: range) -> list[int | None]:
    consumer = make_consumer(settings)
    try:
        return [consumer.committed(TopicPartition(settings.topic_comments, p))
                for p in partitions]
    finally:
        consumer.close()


def read_in_thread(settings: Settings, idle_stop_s: float, probe_every_s: float = 1.0
                   ) -> InThread:
    """A reader of the comments topic as the job builds it, with a short probe interval."""
    shape = topic_shape(settings, settings.topic_comments)
    reader = ReadPartitions(settings, shape, idle_stop_s=idle_stop_s,
                            probe_every_s=probe_every_s)
    return InThread(lambda: run_locally(
        lambda p: p | beam.Create(shape.elements()) | beam.ParDo(reader)))


@pytest.mark.slow
def test_a_broker_killed_and_restarted_under_the_job_loses_nothing(
        restarted: KafkaServer, tmp_path: Path) -> None:
    settings = own_topics(restarted.bootstrap, "killed-mid-stream",
                          database_url=f"sqlite:///{tmp_path / 'yuqing.db'}")
    upgrade(settings.database_url)
    records = cycled_records(300)
    produce_records(settings, records[:100])
    before = read_so_far()
    # Idle for 5 s ends the job; the broker is down for longer than that.
    job = InThread(lambda: run(["--until-idle=5"], settings))
    wait_until(lambda: read_so_far() - before >= 100 or job.join(0), 120, "100 comments read")

    restarted.kill()
    time.sleep(6)
    restarted.start()
    produce_records(settings, records[100:])

    assert job.join(180), "the job did not end after the broker came back"
    assert job.error is None, job.error
    with Session(make_engine(settings.database_url)) as session:
        alerts = set(session.scalars(select(Alert.comment_id)))
        versions = session.scalar(select(func.count()).select_from(AlertVersion))
    assert alerts == expected_alerts(settings, [(r.id, r.text) for r in records])
    assert versions == len(alerts)  # each comment once, however often it was replayed
    assert sum(committed(settings, range(settings.topic_partitions))) == len(records)


def test_a_broker_that_is_down_is_waited_for_with_a_warning(
        restarted: KafkaServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pipeline.stream")
    settings = own_topics(restarted.bootstrap, "waited-for").model_copy(
        update={"progress_interval_s": 0.5, "kafka_timeout_s": 2})
    before = read_so_far()
    # Idle for 5 s ends the job; the broker is down for longer than that.
    job = read_in_thread(settings, idle_stop_s=5)
    wait_until(lambda: all(any(f"waited-for/{p}=0" in r.getMessage() for r in caplog.records)
                           for p in (0, 1, 2)), 30, "every partition to be polled")

    restarted.kill()
    wait_until(lambda: any("no data from the Kafka broker" in r.getMessage()
                           for r in caplog.records), 20, "the outage warning")
    time.sleep(6)
    assert not job.join(0), f"the job ended while the broker was down: {job.error!r}"
    restarted.start()
    produce_to(settings, 1, 5)

    assert job.join(60), "the job did not end after the broker came back"
    assert job.error is None
    assert read_so_far() - before == 5
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING and r.name == SOURCE_LOGGER]
    assert len(warnings) == 1, warnings  # one outage, well under a minute: one warning
    assert warnings[0].startswith(f"no data from the Kafka broker at {restarted.bootstrap} for ")
    assert any(f"the Kafka broker at {restarted.bootstrap} answers again" in r.getMessage()
               for r in caplog.records)


def test_new_partitions_stop_the_job_in_one_line(apache_kafka: KafkaServer) -> None:
    settings = own_topics(apache_kafka.bootstrap, "grown")
    job = read_in_thread(settings, idle_stop_s=30)
    time.sleep(2)

    admin = make_admin(settings)
    try:
        admin.create_partitions({settings.topic_comments: 5})
    finally:
        admin.close()

    assert job.join(30), "the job went on without reading the new partitions"
    assert isinstance(job.error, PartitionsAdded), job.error
    assert str(job.error) == (
        f"topic 'grown' on the Kafka broker at {apache_kafka.bootstrap} gained partitions "
        "[3, 4] while the job ran; restart the job to read them (it reads the partitions a "
        "topic has when it starts)")


def test_a_topic_recreated_and_refilled_under_the_job_stops_it(
        settings: Settings, broker: EmbeddedBroker) -> None:
    produce_to(settings, 0, 10)
    before = read_so_far()
    job = read_in_thread(settings, idle_stop_s=30)
    wait_until(lambda: read_so_far() - before >= 10 or job.join(0), 30, "10 messages read")

    broker.stop()
    broker.start()
    ensure_topics(settings)
    # Past the job's position at once: reading on from offset 10 would skip the new 0..9.
    produce_to(settings, 0, 40)

    assert job.join(30), "the job went on reading a topic recreated under it"
    assert isinstance(job.error, PartitionReset), job.error
    assert "\n" not in str(job.error)
    assert "restart the job" in str(job.error)
    # The restarted job reads the new topic from its start, whatever a late commit left.
    assert start_of(settings, 0) == 0


def recreate_topics(settings: Settings) -> None:
    admin = make_admin(settings)
    try:
        admin.delete_topics([settings.topic_comments])
        wait_until(lambda: describe_topic(admin, settings.topic_comments) is None, 30,
                   "the topic to be deleted")
    finally:
        admin.close()
    ensure_topics(settings)


def start_of(settings: Settings, partition: int) -> int:
    """Where a job started now would read ``partition`` from."""
    reader = ReadPartitions(settings, topic_shape(settings, settings.topic_comments))
    return reader.initial_restriction((settings.topic_comments, partition)).start


def test_an_offset_committed_on_an_earlier_topic_of_the_name_is_ignored(
        apache_kafka: KafkaServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    settings = own_topics(apache_kafka.bootstrap, "recreated")
    earlier = topic_shape(settings, settings.topic_comments)
    recreate_topics(settings)
    # A job's last commit, reaching the broker after the topic was recreated; then the new
    # topic fills up past it, so only the id tells the offset is not this topic's.
    commit(settings, 0, 10, earlier.topic_id)
    produce_to(settings, 0, 30)
    now = topic_shape(settings, settings.topic_comments)

    assert start_of(settings, 0) == 0
    assert now.topic_id != earlier.topic_id
    assert (f"recreated/0: ignoring committed offset 10 of consumer group 'recreated-group': it "
            f"was made on an earlier topic of that name (id {earlier.topic_id}; the topic now "
            f"has id {now.topic_id}); starting at offset 0") in caplog.messages


def test_an_offset_past_the_end_of_the_log_is_ignored(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=SOURCE_LOGGER)
    commit(settings, 0, 10)  # tansu keeps no commit metadata: no topic id to compare
    produce_to(settings, 0, 3)

    assert start_of(settings, 0) == 0
    assert ("comments/0: ignoring committed offset 10 of consumer group 'yuqing-pipeline': it "
            "is past the partition's end, 3, so it was made on an earlier log (topic recreated, "
            "or a memory-only broker restarted); starting at offset 0") in caplog.messages


def test_offsets_committed_by_the_job_carry_the_topic_id(apache_kafka: KafkaServer) -> None:
    settings = own_topics(apache_kafka.bootstrap, "with-ids")
    produce_to(settings, 2, 4)

    run_locally(lambda p: p | beam.Create([(settings.topic_comments, 2)]) | beam.ParDo(
        ReadPartitions(settings, topic_shape(settings, settings.topic_comments),
                       idle_stop_s=1)))

    consumer = make_consumer(settings)
    try:
        stored = consumer.committed(TopicPartition(settings.topic_comments, 2), metadata=True)
    finally:
        consumer.close()
    assert (stored.offset, stored.metadata) == (
        4, topic_shape(settings, settings.topic_comments).topic_id)


def test_a_commit_the_broker_missed_is_paid_once_it_answers(restarted: KafkaServer) -> None:
    # A partition that goes quiet brings no newer commit to cover a failed one; this is the
    # reader's own retry, driven directly, since no test can time a kill to fall between a
    # bundle's store write and its commit.
    settings = own_topics(restarted.bootstrap, "owed")
    produce_to(settings, 0, 5)
    reader = ReadPartitions(settings, topic_shape(settings, settings.topic_comments))
    partition = TopicPartition(settings.topic_comments, 0)
    consumer = make_consumer(settings)
    try:
        consumer.assign([partition])
        restarted.kill()
        assert not reader._commit(consumer, partition, 5, timeout_ms=2_000)
        assert not reader._settle(consumer, partition)
        restarted.start()
        wait_until(lambda: reader._settle(consumer, partition), 60, "the owed commit")
    finally:
        consumer.close()
    assert committed(settings, range(1)) == [5]
