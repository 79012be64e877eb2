"""The same job on Beam's other runners, each fetched by `make test`: Prism, Beam's portable local
runner (`make prism`, from the Go module proxy), and Flink through Beam's Flink job server
(`make flink-job-server`, from Maven Central).

Prism splits restrictions dynamically and Flink checkpoints them, which the local FnApiRunner
never does: on each, the job must read every partition once, store what the local runner stores
and commit every offset.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms import window
from sqlalchemy.orm import Session

from devkit.bench.faults import committed_offsets
from devkit.bench.reference import expected_alerts
from devkit.child import Child
from devkit.flink_cluster import FlinkSessionCluster, WorkerPool, flink_dist_jar
from devkit.hostile import cycled_records, produce_records
from pipeline.config import Settings
from pipeline.runners import (
    RunnerChoice,
    beam_options,
    flink_job_server_jar,
    prism_binary,
)
from pipeline.store.engine import make_engine
from pipeline.store.queries import alert_ids
from pipeline.stream.run import run
from pipeline.stream.source import ReadComments
from tests.utils.background import InThread, wait_until
from tests.utils.paths import built_by_make

pytestmark = pytest.mark.integration


@pytest.fixture
def prism(settings: Settings) -> Path:
    return built_by_make(prism_binary(settings.data_dir), "make prism")


@pytest.fixture
def flink_jar(settings: Settings) -> Path:
    return built_by_make(flink_job_server_jar(settings.data_dir), "make flink-job-server")


@pytest.fixture
def flink_dist(settings: Settings) -> Path:
    """The Flink distribution's ``lib/``."""
    return built_by_make(flink_dist_jar(settings.data_dir), "make flink-dist").parent


def _stored(settings: Settings) -> set[str]:
    with Session(make_engine(settings.database_url)) as session:
        return set(alert_ids(session))


def test_the_job_on_prism_stores_and_commits_what_the_local_runner_does(
        settings: Settings, prism: Path) -> None:
    records = cycled_records(300)
    produce_records(settings, records)

    summary = run(["--until-idle=5", "--runner=prism"], settings)

    assert (summary.read, summary.scored) == (len(records), len(records))
    assert _stored(settings) == expected_alerts(settings, [(r.id, r.text) for r in records])
    assert committed_offsets(settings) == len(records)


class _Emitted(beam.DoFn):
    """Appends each window's count to a file, so the test sees when the runner emitted it."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def process(self, count: int, win: window.BoundedWindow = beam.DoFn.WindowParam) -> None:
        with self._path.open("a") as out:
            out.write(f"{win.start.micros} {count}\n")


def test_prism_emits_a_windowed_count_while_the_stream_runs(
        settings: Settings, prism: Path, tmp_path: Path) -> None:
    """Surge detection needs windows that close while the job runs; the local runner emits them
    only at the end. Here the second wave is produced only once the first wave's window has come
    out of the job, which then goes on to count the second. (Prism's runner wants the main
    thread, so the producer is the one in a thread.)"""
    emitted = tmp_path / "windows.txt"
    emitted.touch()
    job_ended = threading.Event()

    def counts() -> list[int]:
        return [int(line.split()[1]) for line in emitted.read_text().splitlines()]

    first, second = cycled_records(30), cycled_records(50)[30:]

    def second_wave() -> None:
        wait_until(lambda: sum(counts()) == len(first) or job_ended.is_set(), 120,
                   "the first wave's window")
        assert not job_ended.is_set(), f"the job ended first; windows emitted: {counts()}"
        time.sleep(2.5)  # into a later window
        produce_records(settings, second)

    produce_records(settings, first)
    producer = InThread(second_wave)
    options = PipelineOptions(beam_options(RunnerChoice("prism"), settings.data_dir))
    with beam.Pipeline(options=options) as pipeline:
        _ = (pipeline
             | ReadComments(settings, settings.topic_comments, idle_stop_s=8)
             | beam.WindowInto(window.FixedWindows(2))
             | beam.Map(lambda message: ("all", message.offset))
             | beam.GroupByKey()
             | beam.MapTuple(lambda _key, offsets: len(list(offsets)))
             | beam.ParDo(_Emitted(emitted)))
    job_ended.set()

    assert producer.join(10)
    assert producer.error is None
    assert sum(counts()) == len(first) + len(second)
    assert len(counts()) >= 2


@pytest.mark.parametrize("settings", ["apache-kafka"], indirect=True)
def test_the_job_on_embedded_flink_stores_and_commits_what_the_local_runner_does(
        settings: Settings, flink_jar: Path, tmp_path: Path) -> None:
    """On Flink a bundle is finalized, so its offsets committed, only after a checkpoint: every
    offset committed means checkpoints completed and the job finished with every message.

    With two copies of every step sharing the partitions, no message is read twice: the
    reader's running count (the progress line of the one process both copies run in, without
    a worker pool) ends at the number of messages, never above it."""
    settings = settings.model_copy(update={"progress_interval_s": 0.5})
    records = cycled_records(300)
    produce_records(settings, records)

    job = Child(["run", "--runner", "flink", "--checkpoint-interval", "1", "--parallelism", "2"],
                settings, tmp_path / "job.log")
    try:
        _wait_committed(job, settings, len(records), timeout_s=240)
        assert _stored(settings) == expected_alerts(settings, [(r.id, r.text) for r in records])
        late = cycled_records(320)[300:]
        produce_records(settings, late)
        every = [*records, *late]
        _wait_committed(job, settings, len(every), timeout_s=60)
        wait_until(lambda: len(every) in _read_counts(job), 30, "a progress line after the drain")
    finally:
        job.interrupt()
    assert max(_read_counts(job)) == len(every)
    assert _stored(settings) == expected_alerts(settings, [(r.id, r.text) for r in every])


def _read_counts(job: Child) -> list[int]:
    """The reader's running count in each progress line the job has logged."""
    return [int(count.replace(",", ""))
            for count in re.findall(r"progress: read ([\d,]+)", job.log_text())]


def _wait_committed(job: Child, settings: Settings, total: int, timeout_s: float) -> None:
    """Until the job's consumer group has committed ``total`` comment offsets, which it does
    only for messages it has finished with; fails with the job's log if it exits first."""
    wait_until(lambda: committed_offsets(settings) >= total or job.poll() is not None,
               timeout_s, f"{total} committed offsets", poll_s=0.5)
    assert job.poll() is None, f"the job exited early:\n{job.log_text()[-4000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("settings", ["apache-kafka"], indirect=True)
def test_the_job_on_a_flink_session_cluster_survives_losing_its_task_manager(
        settings: Settings, flink_jar: Path, flink_dist: Path, tmp_path: Path) -> None:
    """The deployment of ``deploy/flink/standalone.md`` on loopback: a session cluster, Python
    steps in an external worker pool, the job submitted by ``yuqing run``. Its task manager is
    killed while a wave of comments is in flight; once a new one offers slots the job comes back
    from its last checkpoint, re-reads what came after it, and every alert is stored once."""
    first, wave = cycled_records(300), cycled_records(1500)[300:]
    produce_records(settings, first)
    with (FlinkSessionCluster(flink_dist, tmp_path / "flink") as cluster,
          WorkerPool(settings, tmp_path / "worker-pool.log") as pool):
        job = Child(["run", "--runner", "flink", "--flink-master", cluster.rest_address,
                     "--worker-pool", pool.address, "--checkpoint-interval", "1"],
                    settings, tmp_path / "job.log")
        try:
            _wait_committed(job, settings, len(first), timeout_s=240)
            (job_id,) = cluster.jobs()
            first_alerts = len(_stored(settings))
            produce_records(settings, wave)
            # Killed once the wave's first alerts are stored: offsets are committed only at a
            # checkpoint, and one checkpoint can cover the whole wave, so commits come too late.
            wait_until(lambda: len(_stored(settings)) > first_alerts, 60,
                       "the wave's first alerts", poll_s=0.05)
            cluster.kill_task_manager()
            killed_at = committed_offsets(settings)
            cluster.start_task_manager()
            _wait_committed(job, settings, len(first) + len(wave), timeout_s=240)
            restored = cluster.restored_checkpoints(job_id)
        finally:
            job.interrupt()
            logs = cluster.log_tail()
    assert killed_at < len(first) + len(wave), "the wave was done before the kill"
    assert restored >= 1, f"the job was not restored from a checkpoint:\n{logs}"
    every = [*first, *wave]
    assert _stored(settings) == expected_alerts(settings, [(r.id, r.text) for r in every])
