"""``yuqing bench kafka-read``: how fast Beam's own Kafka reader and ours read the same topic.

The production path could read Kafka with Beam's cross-language ``ReadFromKafka`` (Java's KafkaIO)
instead of our splittable DoFn (:mod:`pipeline.stream.source`); this bench measures what that
would gain. Both read one topic of small messages on one real Apache Kafka broker, on embedded
Flink with checkpoints every second (the production runner), and a DoFn counts what arrives in
the driver's process (LOOPBACK). The clock runs from submitting the pipeline to the last message
counted, so it includes the job's start-up; the rate after the first message is the reading
speed. Only reading is measured: the job itself is limited by scoring, not by reading.

What KafkaIO needs to run here, each a workaround this bench carries:

- a job server jar with KafkaIO and its expansion service in it (``make kafka-io-jar``; Maven
  Central serves no expansion service jar for Beam 2.62), started also as the expansion service
  with ``--defaultEnvironmentType=EMBEDDED``, so that KafkaIO's Java steps run inside Flink
  rather than in a Docker container;
- :class:`ReadFromKafka262`: the installed Python SDK's ``ReadFromKafka`` sends configuration
  fields (``dynamic_read_poll_interval_seconds`` and two others) that the 2.62 expansion service
  rejects, so this sends the 2.62 schema under the same URN.

Each reader runs in a child process (:func:`probe`), whose process group, job server included,
is killed afterwards: a cancelled streaming job does not reliably stop its job server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import typing
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.external import ExternalTransform, NamedTupleBasedPayloadBuilder

from devkit.bench.workdir import BenchDir
from devkit.child import child_env
from pipeline.broker import die_with_parent_hook, free_port, wait_for_port
from pipeline.config import Settings
from pipeline.errors import OperatorError
from pipeline.kafka import ensure_topics, make_producer
from pipeline.kafka_server import KafkaServer, libs_dir
from pipeline.runners import FLINK_JOB_SERVER_BEAM, FLINK_MINOR, RunnerChoice, beam_options
from pipeline.stream.source import ReadComments

log = logging.getLogger(__name__)

SOURCES = ("ours", "kafkaio")
_BYTES = "org.apache.kafka.common.serialization.ByteArrayDeserializer"
_RESULT = "RESULT "
_START_TIMEOUT_S = 120.0


class KafkaReadBenchError(OperatorError):
    """A reader could not be measured; the message says which and why."""


def kafka_io_jar(data_dir: Path) -> Path:
    """Where ``make kafka-io-jar`` puts the job server with KafkaIO."""
    return (data_dir / "flink"
            / f"beam-kafka-io-flink-{FLINK_MINOR}-job-server-{FLINK_JOB_SERVER_BEAM}.jar")


# The functional form and typing.Optional on purpose: Beam infers the payload's schema from these
# types, and reads neither the strings a class body leaves under `from __future__ import
# annotations` nor `X | None` (both would be sent as opaque Python objects).
_Schema262 = typing.NamedTuple("_Schema262", [  # noqa: UP014
    ("consumer_config", typing.Mapping[str, str]), ("topics", list[str]),
    ("key_deserializer", str), ("value_deserializer", str),
    ("start_read_time", typing.Optional[int]),  # noqa: UP045
    ("max_num_records", typing.Optional[int]),  # noqa: UP045
    ("max_read_time", typing.Optional[int]),  # noqa: UP045
    ("commit_offset_in_finalize", bool), ("timestamp_policy", str),
    ("consumer_polling_timeout", typing.Optional[int]),  # noqa: UP045
    ("redistribute", typing.Optional[bool]),  # noqa: UP045
    ("redistribute_num_keys", typing.Optional[np.int32]),  # noqa: UP045
    ("allow_duplicates", typing.Optional[bool])])  # noqa: UP045


class ReadFromKafka262(ExternalTransform):
    """Beam's ``ReadFromKafka`` (values as bytes, no metadata) as a 2.62 expansion service
    expects it: the configuration schema of KafkaIO 2.62, the URN of every version since."""

    URN = "beam:transform:org.apache.beam:kafka_read_without_metadata:v1"

    def __init__(self, bootstrap: str, topic: str, group: str, expansion_service: str) -> None:
        super().__init__(self.URN, NamedTupleBasedPayloadBuilder(_Schema262(
            consumer_config={"bootstrap.servers": bootstrap, "group.id": group,
                             "auto.offset.reset": "earliest", "enable.auto.commit": "false"},
            topics=[topic], key_deserializer=_BYTES, value_deserializer=_BYTES,
            start_read_time=None, max_num_records=None, max_read_time=None,
            commit_offset_in_finalize=False, timestamp_policy="ProcessingTime",
            consumer_polling_timeout=2, redistribute=False, redistribute_num_keys=np.int32(0),
            allow_duplicates=False)), expansion_service)


class _Counted:
    """What the counting DoFn saw, in this process: LOOPBACK runs it here, and this module is
    imported by name (not run as ``__main__``), so the DoFn refers to this very object."""

    lock = threading.Lock()
    count = 0
    first: float | None = None
    last: float | None = None


class _Count(beam.DoFn):
    def process(self, element: object) -> None:
        now = time.monotonic()
        with _Counted.lock:
            _Counted.count += 1
            _Counted.first = _Counted.first or now
            _Counted.last = now


@dataclass(frozen=True)
class ReadFigures:
    source: str
    messages: int
    read: int
    first_s: float  # submitting the pipeline to the first message counted
    seconds: float  # submitting the pipeline to the last message counted

    @property
    def per_second(self) -> float:
        return self.read / max(self.seconds, 1e-9)

    @property
    def steady_per_second(self) -> float:
        return (self.read - 1) / max(self.seconds - self.first_s, 1e-9)


def probe(source: str, topic: str, messages: int, expansion: str, timeout_s: float) -> None:
    """In a child process: read ``topic`` with one reader until ``messages`` are counted (or the
    time is up), print one ``RESULT`` JSON line, and exit without waiting for Beam's teardown
    (the parent kills this process group)."""
    settings = Settings()
    group = f"kafka-read-{source}-{secrets.token_hex(3)}"
    flags = [*beam_options(RunnerChoice("flink", checkpoint_s=1.0), settings.data_dir),
             f"--flink_job_server_jar={kafka_io_jar(settings.data_dir)}"]
    pipeline = beam.Pipeline(options=PipelineOptions(flags))
    if source == "kafkaio":
        read = ReadFromKafka262(settings.kafka_bootstrap, topic, group, expansion)
    else:
        read = ReadComments(settings.model_copy(update={"consumer_group": group}), topic)
    _ = pipeline | read | beam.ParDo(_Count())
    started = time.monotonic()
    result = pipeline.run()
    while _Counted.count < messages and time.monotonic() - started < timeout_s:
        time.sleep(0.05)
    with contextlib.suppress(Exception):  # best effort: the parent kills the job server anyway
        result.cancel()
    first, last = _Counted.first or started, _Counted.last or started
    print(_RESULT + json.dumps({"read": _Counted.count, "first_s": round(first - started, 2),
                                "seconds": round(last - started, 2)}), flush=True)
    os._exit(0)


def measure(settings: Settings, source: str, topic: str, messages: int, expansion: str,
            log_path: Path, timeout_s: float) -> ReadFigures:
    log.info("%s: reading %d messages on embedded Flink", source, messages)
    command = [sys.executable, "-c",
               "import sys; from devkit.bench.kafka_read import probe; "
               "probe(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], "
               "float(sys.argv[5]))",
               source, topic, str(messages), expansion, str(timeout_s)]
    with log_path.open("wb") as err:
        child = subprocess.Popen(command, env=child_env(settings), stdout=subprocess.PIPE,
                                 stderr=err, process_group=0, preexec_fn=die_with_parent_hook())
    try:
        out, _ = child.communicate(timeout=timeout_s + _START_TIMEOUT_S)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    lines = [line for line in out.decode().splitlines() if line.startswith(_RESULT)]
    if not lines:
        raise KafkaReadBenchError(f"{source}: the reader printed no result; see {log_path}")
    figures = ReadFigures(source, messages, **json.loads(lines[-1].removeprefix(_RESULT)))
    log.info("%s: %d of %d in %.1f s (first at %.1f s)", source, figures.read, messages,
             figures.seconds, figures.first_s)
    return figures


def _produce(settings: Settings, topic: str, messages: int) -> None:
    producer = make_producer(settings)
    try:
        for number in range(messages):
            producer.send(topic, key=b"%d" % number, value=b"comment %d, a short text" % number)
        producer.flush()
    finally:
        producer.close()


def _expansion_service(jar: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            ["java", "-cp", str(jar), "org.apache.beam.sdk.expansion.service.ExpansionService",
             str(port), "--defaultEnvironmentType=EMBEDDED"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, process_group=0,
            preexec_fn=die_with_parent_hook())
    wait_for_port("127.0.0.1", port, _START_TIMEOUT_S)
    return process, f"localhost:{port}"


def run(settings: Settings, sources: Sequence[str] = SOURCES, messages: int = 100_000,
        timeout_s: float = 600.0) -> dict[str, Any]:
    """Each reader on the same topic of ``messages`` small messages, one after the other."""
    if unknown := sorted(set(sources) - set(SOURCES)):
        raise KafkaReadBenchError(f"unknown readers {unknown}; known: {list(SOURCES)}")
    jar = kafka_io_jar(settings.data_dir)
    if not jar.is_file():
        raise KafkaReadBenchError(f"{jar} is missing: build it with `make kafka-io-jar`")
    with BenchDir("yuqing-kafka-read-") as work:
        with KafkaServer(work.path / "kafka", libs_dir(settings.data_dir)) as kafka:
            topic = f"kafka-read-{secrets.token_hex(3)}"
            broker = settings.model_copy(update={
                "kafka_bootstrap": kafka.bootstrap, "topic_comments": topic,
                "topic_dead_letters": f"{topic}.dead"})
            ensure_topics(broker)
            _produce(broker, topic, messages)
            service, expansion = _expansion_service(jar, work.path / "expansion.log")
            try:
                figures = [measure(broker, source, topic, messages, expansion,
                                   work.path / f"{source}.log", timeout_s)
                           for source in sources]
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(service.pid, signal.SIGKILL)
                service.wait()
        work.passed = all(figure.read == messages for figure in figures)
    return {"ok": work.passed, "messages": messages, "partitions": settings.topic_partitions,
            "readers": {f.source: asdict(f) | {"per_second": round(f.per_second, 1),
                                              "steady_per_second": round(f.steady_per_second, 1)}
                        for f in figures}}


def table(result: dict[str, Any]) -> str:
    lines = ["| reader | messages | read | first message (s) | last message (s) | messages/s | "
             "messages/s after the first |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, row in result["readers"].items():
        lines.append(f"| {name} | {row['messages']} | {row['read']} | {row['first_s']} | "
                     f"{row['seconds']} | {row['per_second']} | {row['steady_per_second']} |")
    return "\n".join(lines)
