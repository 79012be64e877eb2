"""The real Apache Kafka broker: what tansu cannot show, that data on disk survives a crash.

One broker serves the whole session (a start costs seconds); each test uses its own topics and
consumer group, and a test that stops or kills the broker starts it again before it ends.
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from devkit.hostile import cycled_records, produce, produce_records
from pipeline.broker import BrokerError
from pipeline.config import Settings
from pipeline.kafka import make_consumer
from pipeline.kafka_server import KAFKA_VERSION, KafkaServer
from pipeline.store.migrations import upgrade
from pipeline.stream.run import run
from tests.utils.brokers import own_topics
from tests.utils.paths import REPO_ROOT

MESSAGES = [(f"key-{n}".encode(), f"value-{n}".encode()) for n in range(20)]


def _read_all(settings: Settings, count: int, timeout_s: float = 20.0
              ) -> list[tuple[bytes, bytes]]:
    """Every (key, value) on the comments topic, from the beginning, once ``count`` arrived."""
    consumer = make_consumer(settings)
    try:
        partitions = [TopicPartition(settings.topic_comments, p)
                      for p in range(settings.topic_partitions)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        found: list[tuple[bytes, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while len(found) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                found.extend((message.key, message.value) for message in batch)
        return found
    finally:
        consumer.close()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_pinned_version_is_the_one_maven_fetches() -> None:
    pom = ET.parse(REPO_ROOT / "deploy/kafka/pom.xml")
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    assert pom.findtext("m:properties/m:kafka.version", namespaces=namespace) == KAFKA_VERSION


def test_missing_jars_name_the_make_target(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match=r"jars not found in .*; run `make kafka-jars`$"):
        KafkaServer(tmp_path / "data", tmp_path / "libs").start()
    assert not (tmp_path / "data").exists()


@pytest.mark.integration
def test_a_broker_that_dies_at_start_is_quoted(tmp_path: Path, kafka_libs: Path) -> None:
    log_dirs = tmp_path / "kafka-logs"
    log_dirs.mkdir()
    (log_dirs / "meta.properties").write_text(
        "version=1\nnode.id=7\ncluster.id=y9xsoVUBTLq4fDmt_V4ngA\n"
        "directory.id=ceY1BhdDQ2OKQlgxLy37QQ\n")
    server = KafkaServer(tmp_path, kafka_libs)
    with pytest.raises(BrokerError, match=r"exited with status 1: .*Stored node id 7 doesn't "):
        server.start()
    assert server.pid is None


@pytest.mark.integration
def test_messages_round_trip(apache_kafka: KafkaServer) -> None:
    settings = own_topics(apache_kafka.bootstrap, "round-trip")
    produce(settings, MESSAGES)
    assert sorted(_read_all(settings, len(MESSAGES))) == sorted(MESSAGES)


@pytest.mark.integration
def test_acked_messages_and_offsets_survive_sigkill(restarted: KafkaServer) -> None:
    settings = own_topics(restarted.bootstrap, "after-kill")
    produce(settings, MESSAGES)
    partition = TopicPartition(settings.topic_comments, 0)
    consumer = make_consumer(settings)
    consumer.commit({partition: OffsetAndMetadata(1, "", -1)})
    consumer.close()
    pid, port = restarted.pid, restarted.port
    assert pid is not None

    restarted.kill()
    assert _gone(pid)
    restarted.start()

    assert restarted.port == port
    assert sorted(_read_all(settings, len(MESSAGES))) == sorted(MESSAGES)
    consumer = make_consumer(settings)
    try:
        assert consumer.committed(partition) == 1
    finally:
        consumer.close()


@pytest.mark.integration
def test_a_stopped_broker_leaves_no_process_and_keeps_its_data(restarted: KafkaServer) -> None:
    settings = own_topics(restarted.bootstrap, "after-stop")
    produce(settings, MESSAGES)
    pid = restarted.pid
    assert pid is not None

    restarted.stop()
    assert _gone(pid)
    restarted.start()

    assert sorted(_read_all(settings, len(MESSAGES))) == sorted(MESSAGES)


@pytest.mark.integration
def test_the_stream_job_drains_apache_kafka(apache_kafka: KafkaServer, tmp_path: Path) -> None:
    settings = own_topics(apache_kafka.bootstrap, "stream-job",
                         database_url=f"sqlite:///{tmp_path / 'yuqing.db'}")
    upgrade(settings.database_url)
    records = cycled_records(8)
    produce_records(settings, records)

    summary = run(["--until-idle=3"], settings)

    assert (summary.read, summary.scored) == (len(records), len(records))
