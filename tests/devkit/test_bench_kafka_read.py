"""`yuqing bench kafka-read` at a small size: both readers, ours and Beam's KafkaIO through the
cross-language ReadFromKafka, read every message of a real Apache Kafka topic on embedded Flink,
so the figures in docs/runners.md come from a bench that works."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.bench.kafka_read import SOURCES, KafkaReadBenchError, kafka_io_jar, run, table
from pipeline.config import Settings
from tests.utils.paths import built_by_make

pytestmark = pytest.mark.integration


@pytest.mark.slow
@pytest.mark.bench
def test_both_readers_read_every_message(kafka_libs: Path) -> None:
    # The checkout's var/: the Kafka jars and the job server jars, as `make test` left them.
    settings = Settings(data_dir=kafka_libs.parents[2], kafka_timeout_s=10)
    built_by_make(kafka_io_jar(settings.data_dir), "make kafka-io-jar")

    result = run(settings, SOURCES, messages=3000, timeout_s=180)

    assert result["ok"]
    assert {name: row["read"] for name, row in result["readers"].items()} \
        == {"ours": 3000, "kafkaio": 3000}
    assert table(result).count("| 3000 | 3000 |") == 2


def test_an_unknown_reader_or_a_missing_jar_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(KafkaReadBenchError, match=r"unknown readers \['kafka'\]"):
        run(Settings(data_dir=tmp_path), ["kafka"])
    with pytest.raises(KafkaReadBenchError, match="build it with `make kafka-io-jar`"):
        run(Settings(data_dir=tmp_path), SOURCES)
