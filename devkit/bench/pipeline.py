"""``yuqing bench pipeline``: the whole job's throughput, CPU, memory and latency in one run,
beside the solo rate of each of its stages.

One real Apache Kafka broker (:mod:`pipeline.kafka_server`) with a fresh topic, consumer group
and SQLite store; the job runs as an operator runs it (``python -m pipeline run``, the local
runner), and the bench watches it from outside: the consumer group's committed offsets (the job
commits only what it has stored) through one consumer kept open, and the job's process through
psutil every :data:`SAMPLE_S` seconds (CPU of the process and anything it started, and RSS).

The job runs on the local runner by default. With ``runner="flink"`` it runs on an embedded
Flink cluster with its Python steps in a worker pool the bench starts (as on a cluster), with
``parallelism`` copies of every step and a Python worker for each stage copy: the measure of
scaling out from one core to two. CPU and RSS then include the Flink job server and the
workers, and the figures name each worker's CPU, which shows how the partitions were shared.

* **drain** (the default): N comments are on the topic before the job starts; the clock runs
  from the job's start to every offset committed, and again from its first commit, which leaves
  out the start-up (imports, model, corrector).
* **streaming** (``rate``): a warm-up burst is produced and committed first, so the start-up
  is out of the figures; then comments are produced at a fixed rate for a fixed time, each
  stamped with ``crawled_at`` as it is sent. The store writes a comment's ``updated_at`` in the
  transaction that stores it (and its alert, if any), before the offsets commit, so
  ``updated_at - crawled_at`` is the produce-to-stored latency of every comment, read from the
  store afterwards without polling it during the run.

The solo rates are measured in the same run, on one pinned core and on the same texts, after the
job has stopped so that nothing competes with them: the text stage (clean, correct, segment) in
batches of 256 as the job batches it, the model through RunInference (``yuqing bench score``),
and the store writing the job's rows with the job's own write (``record_scored``) into a fresh
SQLite file. The end-to-end rate divided by the slowest stage's says how much the fused job
loses to per-comment overheads. The stored alerts are checked against the reference computed
without the job (:mod:`devkit.bench.reference`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError
from sqlalchemy import select
from sqlalchemy.orm import Session

from devkit.bench.faults import JOB_STARTED
from devkit.bench.reference import Oracle
from devkit.bench.score import bench_score
from devkit.bench.text import BATCH, one_core
from devkit.bench.workdir import BenchDir
from devkit.child import Child
from devkit.flink_cluster import WorkerPool
from devkit.hostile import cycled_records, produce_records
from pipeline.alerts import Prepared, Scored, alert_row
from pipeline.config import Settings
from pipeline.errors import OperatorError
from pipeline.kafka import ensure_topics, make_consumer, make_producer
from pipeline.kafka_server import KafkaServer, libs_dir
from pipeline.records import CommentRecord, Lineage, utcnow
from pipeline.runners import RunnerChoice, beam_options
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import Alert, Comment
from pipeline.store.queries import alert_ids
from pipeline.stream.sink import record_scored
from pipeline.text.clean import TextRejected
from pipeline.text.stage import ProcessedText, TextStage

log = logging.getLogger(__name__)

SAMPLE_S = 0.2
# A job that commits nothing for this long is stuck, however big the backlog (start-up
# included: imports, the model and the corrector's LM take seconds, not minutes).
STALL_S = 300.0
# The streaming figures start after this many seconds' worth of comments are committed.
WARMUP_S = 2.0
# Kept up: when production stopped, less than this many seconds of input was uncommitted.
KEPT_UP_S = 2.0
# The job is given this long to exit after its SIGINT before it is killed: the figures are
# taken by then, and whether it stops by itself is reported, not waited for.
STOP_S = 15.0
# RSS is reported at about this many points over the run, as the committed count grows.
RSS_POINTS = 20
# On Flink offsets are committed after each checkpoint, so the interval delays the last commit
# the drain waits for; 2 s rather than the job's default 10.
FLINK_CHECKPOINT_S = 2.0
RUNNERS = ("local", "flink")
# On the local runner the job stops itself on SIGINT: the readers end the stream, and it exits 0.
# Any other status is a failure the bench reports, even with every alert stored. On Flink the
# job runs in the cluster and the signal ends only the driver, which exits 1 with a gRPC
# traceback (the embedded job server, in its process group, goes first): reported, not judged.
CLEAN_EXIT = {"local": 0}
_TICK_S = 0.005
_MIB = 1 << 20


class PipelineBenchError(OperatorError):
    """The bench could not measure the job (no broker, a job that died or stalled); one line."""


@dataclass(frozen=True)
class Plan:
    """What to measure: a drain of ``comments``, or a stream at ``rate`` for ``duration_s``."""

    comments: int = 20_000
    rate: float | None = None
    duration_s: float = 60.0
    stages: bool = True
    runner: str = "local"
    parallelism: int = 1
    partitions: int | None = None  # None: the settings' topic_partitions

    def figures(self) -> dict[str, Any]:
        """What was asked, without the other mode's defaults."""
        job = {"runner": self.runner, "parallelism": self.parallelism,
               "partitions": self.partitions, "stages": self.stages}
        if self.rate is None:
            return {"comments": self.comments, **job}
        return {"rate": self.rate, "duration_s": self.duration_s, **job}

    def job_args(self, worker_pool: str | None) -> list[str]:
        """``yuqing run``'s arguments for this plan."""
        if self.runner == "local":
            return ["run"]
        return ["run", "--runner", self.runner, "--worker-pool", str(worker_pool),
                "--checkpoint-interval", str(FLINK_CHECKPOINT_S),
                "--parallelism", str(self.parallelism)]

    @property
    def streaming(self) -> bool:
        return self.rate is not None

    @property
    def timed(self) -> int:
        """The comments the figures are about (the warm-up burst is not among them)."""
        return round(self.rate * self.duration_s) if self.rate is not None else self.comments


@dataclass(frozen=True)
class Sample:
    seconds: float  # since the job process started
    committed: int  # offsets the consumer group has committed, summed over partitions
    cpu_s: float  # user + system CPU of the job and everything it started, so far
    rss: int  # bytes resident, the job and its live children together


class _Committed:
    """The group's committed offsets through one consumer kept open: a new consumer at every
    sample would cost the job CPU on a small machine."""

    def __init__(self, settings: Settings) -> None:
        self._consumer = make_consumer(settings)
        self._partitions = [TopicPartition(settings.topic_comments, partition)
                            for partition in range(settings.topic_partitions)]
        self._timeout_s = settings.kafka_timeout_s

    def __call__(self) -> int:
        timeout_ms = int(self._timeout_s * 1000)
        try:
            return sum(self._consumer.committed(partition, timeout_ms=timeout_ms) or 0
                       for partition in self._partitions)
        except KafkaTimeoutError as error:
            raise PipelineBenchError(f"the broker did not say what the job has committed within "
                                     f"{self._timeout_s:g} s: {error}") from error

    def close(self) -> None:
        self._consumer.close()


class _Watch:
    """The job as a child process, its progress and its resources sampled together; with a
    worker pool, the pool and its workers too."""

    def __init__(self, settings: Settings, log_path: Path, args: Sequence[str] = ("run",),
                 pool: WorkerPool | None = None) -> None:
        self._committed = _Committed(settings)
        self._pool = psutil.Process(pool.pid) if pool is not None else None
        # Child keeps its Popen to itself; the job is the one child of ours that is new.
        before = {process.pid for process in psutil.Process().children()}
        self.job = Child(list(args), settings, log_path)
        try:
            (self._process,) = [process for process in psutil.Process().children()
                                if process.pid not in before]
        except BaseException:
            self.close()
            raise
        self.samples: list[Sample] = []
        self.stopped: dict[str, Any] = {}
        self._progress = (0, self.job.started_at)

    def close(self) -> None:
        """SIGINT, as an operator stops it, then SIGKILL if it has not exited within
        :data:`STOP_S`; how it ended is kept for the report."""
        try:
            self._committed.close()
        finally:
            began = time.monotonic()
            status = self.job.interrupt(STOP_S)
            self.stopped = {"exit": status, "stop_s": round(time.monotonic() - began, 1),
                            "stopped_by_sigint": status != -signal.SIGKILL}

    def _resources(self) -> tuple[float, int]:
        cpu, rss = 0.0, 0
        for root in (self._process, self._pool):
            if root is None:
                continue
            with contextlib.suppress(psutil.NoSuchProcess):
                processes = [root, *root.children(recursive=True)]
                reaped = root.cpu_times()
                cpu += reaped.children_user + reaped.children_system
                for process in processes:
                    # A child may end between the listing and the reading.
                    with contextlib.suppress(psutil.NoSuchProcess):
                        times = process.cpu_times()
                        cpu += times.user + times.system
                        rss += process.memory_info().rss
        return cpu, rss

    def worker_cpu_s(self) -> list[float]:
        """CPU seconds of each Python worker the pool started, most first: how evenly the
        copies of the job shared the work. Empty without a pool."""
        if self._pool is None:
            return []
        seconds = []
        for worker in self._pool.children():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = worker.cpu_times()
                seconds.append(round(times.user + times.system, 1))
        return sorted(seconds, reverse=True)

    def sample(self) -> Sample:
        """One sample; raises if the job has exited or has committed nothing for too long."""
        if (status := self.job.poll()) is not None:
            raise PipelineBenchError(f"the job exited ({status}): {self.job.last_line()} "
                                     f"(log: {self.job.log_path})")
        committed = self._committed()
        cpu, rss = self._resources()
        now = time.monotonic()
        sample = Sample(round(now - self.job.started_at, 3), committed, cpu, rss)
        self.samples.append(sample)
        if committed != self._progress[0]:
            self._progress = (committed, now)
        elif now - self._progress[1] > STALL_S:
            raise PipelineBenchError(f"the job committed nothing for {STALL_S:g} s at {committed} "
                                     f"offsets: {self.job.last_line()} (log: {self.job.log_path})")
        return sample

    def wait_for(self, committed: int) -> Sample:
        while (sample := self.sample()).committed < committed:
            time.sleep(SAMPLE_S)
        return sample

    def wait_started(self) -> None:
        """Until the job is past its preflight checks (broker, store, model, LM)."""
        while JOB_STARTED not in self.job.log_text():
            self.sample()
            time.sleep(SAMPLE_S)

    def memory(self, upto: Sample) -> dict[str, Any]:
        """Peak RSS up to ``upto``, and RSS at about :data:`RSS_POINTS` points as offsets commit."""
        samples = [sample for sample in self.samples if sample.seconds <= upto.seconds]
        step = max(1, upto.committed // RSS_POINTS)
        points, mark = [], step
        for sample in samples:
            if sample.committed >= mark:
                points.append({"comments": sample.committed, "seconds": sample.seconds,
                               "rss_mib": round(sample.rss / _MIB, 1)})
                mark = (sample.committed // step + 1) * step
        return {"peak_rss_mib": round(max(sample.rss for sample in samples) / _MIB, 1),
                "rss": points}


@contextlib.contextmanager
def _job(settings: Settings, plan: Plan, work_dir: Path) -> Iterator[_Watch]:
    """The job as ``plan`` runs it, watched; stopped (and its worker pool with it) on leaving,
    so the watch's report of how it stopped is complete after the block."""
    with (WorkerPool(settings, work_dir / "worker-pool.log") if plan.runner != "local"
          else contextlib.nullcontext()) as pool:
        watch = _Watch(settings, work_dir / "job.log", plan.job_args(pool and pool.address),
                       pool)
        try:
            yield watch
        finally:
            watch.close()


def _cpu_ms(first: Sample, last: Sample, comments: int) -> float | None:
    return round((last.cpu_s - first.cpu_s) * 1000 / comments, 3) if comments > 0 else None


def _rate(comments: int, seconds: float) -> float | None:
    return round(comments / seconds, 1) if comments > 0 and seconds > 0 else None


def drain(settings: Settings, records: Sequence[CommentRecord], work_dir: Path,
          plan: Plan = Plan()) -> dict[str, Any]:
    """Produce every record, then start the job and wait until all of them are committed."""
    began = time.monotonic()
    produce_records(settings, records)
    produce_s = time.monotonic() - began
    log.info("%d comments produced in %.1f s; starting the job", len(records), produce_s)
    with _job(settings, plan, work_dir) as watch:
        end = watch.wait_for(len(records))
        workers = watch.worker_cpu_s()
    start = Sample(0.0, 0, 0.0, 0)
    first = next(sample for sample in watch.samples if sample.committed)
    # Everything committed at the first look (a tiny backlog): no rate without start-up.
    steady = end.committed - first.committed if first.seconds < end.seconds else 0
    figures = {
        "comments": len(records), "produce_s": round(produce_s, 2),
        "startup_s": first.seconds, "committed_first": first.committed,
        "seconds": end.seconds, "per_second": _rate(len(records), end.seconds),
        "steady_per_second": _rate(steady, end.seconds - first.seconds),
        "cpu_ms_per_comment": _cpu_ms(start, end, len(records)),
        "steady_cpu_ms_per_comment": _cpu_ms(first, end, steady),
        "cpu_s": round(end.cpu_s, 2), "worker_cpu_s": workers, **watch.memory(end),
        "stop": watch.stopped}
    log.info("drained %d comments in %.1f s (first commit at %.1f s): %s comments/s, %s after "
             "the first commit; %s ms CPU per comment; peak RSS %s MiB", len(records),
             end.seconds, first.seconds, figures["per_second"], figures["steady_per_second"],
             figures["cpu_ms_per_comment"], figures["peak_rss_mib"])
    return figures


def _produce_at(settings: Settings, records: Sequence[CommentRecord], rate: float,
                tick: Callable[[], object]) -> float:
    """Send ``records`` at ``rate`` a second, each stamped ``crawled_at`` as it goes, calling
    ``tick`` every :data:`SAMPLE_S`; returns the seconds production took."""
    producer = make_producer(settings)
    futures = []
    try:
        began = next_tick = time.monotonic()
        sent = 0
        while sent < len(records):
            now = time.monotonic()
            due = min(len(records), int((now - began) * rate) + 1)
            for record in records[sent:due]:
                stamped = record.model_copy(update={"crawled_at": utcnow()})
                futures.append(producer.send(settings.topic_comments, key=stamped.kafka_key(),
                                             value=stamped.kafka_value()))
            sent = due
            if now >= next_tick:
                tick()
                next_tick = now + SAMPLE_S
            if sent < len(records):
                # Until the next comment is due or the next sample, but never a busy loop.
                time.sleep(max(_TICK_S, min(began + sent / rate, next_tick) - time.monotonic()))
        seconds = time.monotonic() - began
        producer.flush()
        for future in futures:
            future.get(timeout=settings.kafka_timeout_s)
        return seconds
    finally:
        producer.close()


def _percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"n": len(values), "p50": round(float(p50), 3), "p95": round(float(p95), 3),
            "p99": round(float(p99), 3), "max": round(max(values), 3)}


def latencies(database_url: str, source: str) -> dict[str, dict[str, float | int | None]]:
    """Produce-to-stored seconds of ``source``'s comments, and of the alerts among them."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            comments = session.execute(select(Comment.crawled_at, Comment.updated_at)
                                       .where(Comment.source == source)).all()
            alerts = session.execute(select(Alert.crawled_at, Alert.created_at)
                                     .where(Alert.source == source)).all()
    finally:
        engine.dispose()
    return {"latency_s": _percentiles([(stored - sent).total_seconds()
                                       for sent, stored in comments]),
            "alert_latency_s": _percentiles([(stored - sent).total_seconds()
                                             for sent, stored in alerts])}


def stream(settings: Settings, warmup: Sequence[CommentRecord],
           records: Sequence[CommentRecord], rate: float, work_dir: Path,
           plan: Plan = Plan()) -> dict[str, Any]:
    """Start the job, let it commit a warm-up burst, then produce ``records`` at ``rate``."""
    with _job(settings, plan, work_dir) as watch:
        watch.wait_started()
        produce_records(settings, warmup)
        start = watch.wait_for(len(warmup))
        log.info("job warm (%d comments committed at %.1f s); producing %d comments at %g/s",
                 len(warmup), start.seconds, len(records), rate)
        produce_s = _produce_at(settings, records, rate, watch.sample)
        stopped = watch.sample()
        end = watch.wait_for(len(warmup) + len(records))
        workers = watch.worker_cpu_s()
    lag = len(warmup) + len(records) - stopped.committed
    figures = {
        "rate": rate, "comments": len(records), "warmup": len(warmup),
        "produce_s": round(produce_s, 2), "produced_per_s": _rate(len(records), produce_s),
        **latencies(settings.database_url, records[0].source),
        "lag_at_end": lag, "behind_s": round(lag / rate, 2),
        "catch_up_s": round(end.seconds - stopped.seconds, 2), "kept_up": lag <= rate * KEPT_UP_S,
        "cpu_ms_per_comment": _cpu_ms(start, end, len(records)),
        "cpu_s": round(end.cpu_s - start.cpu_s, 2), "worker_cpu_s": workers,
        **watch.memory(end), "stop": watch.stopped}
    log.info("streamed %d comments at %g/s: latency p50 %s s, p95 %s s, p99 %s s; %d behind "
             "when production stopped; %s ms CPU per comment; peak RSS %s MiB", len(records),
             rate, figures["latency_s"]["p50"], figures["latency_s"]["p95"],
             figures["latency_s"]["p99"], lag, figures["cpu_ms_per_comment"],
             figures["peak_rss_mib"])
    return figures


def _store_rate(settings: Settings, records: Sequence[CommentRecord],
                processed: Sequence[ProcessedText | TextRejected],
                scores: Sequence[float | None], model: tuple[str, str], work_dir: Path) -> float:
    """The job's own write (``record_scored``: alerts, versions, comments, keywords, outbox) of
    every scored record, in batches of :data:`BATCH`, into a fresh SQLite file."""
    url = f"sqlite:///{work_dir / 'stage-store.db'}"
    upgrade(url)
    scored = []
    for number, (record, text, score) in enumerate(zip(records, processed, scores, strict=True)):
        if isinstance(text, TextRejected) or score is None:
            continue
        raw = record.kafka_value()
        comment = Prepared(record=record, lineage=Lineage(topic="bench", partition=0,
                                                          offset=number),
                           raw=raw, clean_text=text.text, tokens=list(text.tokens),
                           keywords=list(text.keywords))
        scored.append(Scored(alert_row(comment, score, model=model[0], model_version=model[1],
                                       threshold=settings.thresholds.for_source(record.source)),
                             raw))
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        for start in range(0, len(scored), BATCH):
            with Session(engine) as session, session.begin():
                record_scored(session, scored[start:start + BATCH])
        return round(len(scored) / (time.perf_counter() - started), 1)
    finally:
        engine.dispose()


def stage_rates(settings: Settings, records: Sequence[CommentRecord],
                scores: Sequence[float | None], work_dir: Path) -> dict[str, Any]:
    """Each stage alone on one core, on the texts the job saw; the slowest named."""
    texts = [record.text for record in records]
    with one_core():
        stage = TextStage.load(settings)
        started = time.perf_counter()
        processed: list[ProcessedText | TextRejected] = []
        for start in range(0, len(texts), BATCH):
            processed.extend(stage.process_batch(texts[start:start + BATCH]))
        text_per_s = round(len(texts) / (time.perf_counter() - started), 1)
        log.info("text stage alone: %s comments/s", text_per_s)
        model = bench_score(settings, len(texts))
        log.info("model through RunInference alone: %s comments/s", model["comments_per_s"])
        store_per_s = _store_rate(settings, records, processed, scores,
                                  (model["model"], model["version"]), work_dir)
        log.info("store writes alone: %s comments/s", store_per_s)
    rates = {"text": text_per_s, "model": model["comments_per_s"], "store": store_per_s}
    slowest = min(rates, key=lambda name: rates[name])
    return {"text_per_s": text_per_s, "model_per_s": model["comments_per_s"],
            "model_outside_beam_per_s": model["model_per_s"], "store_per_s": store_per_s,
            "model": model["model"], "model_version": model["version"],
            "batch_size": model["batch_size"], "slowest": slowest,
            "slowest_per_s": rates[slowest]}


def _ratio(rate: float | None, slowest: float) -> float | None:
    return round(rate / slowest, 3) if rate else None


def run_on(settings: Settings, plan: Plan, work_dir: Path) -> dict[str, Any]:
    """The bench on the broker ``settings`` name, with a topic, group and store of its own under
    ``work_dir``."""
    name = f"bench-pipeline-{secrets.token_hex(3)}"
    own = settings.model_copy(update={
        "topic_comments": name, "topic_dead_letters": f"{name}.dead",
        "consumer_group": f"{name}-group",
        "topic_partitions": plan.partitions or settings.topic_partitions,
        "database_url": f"sqlite:///{work_dir / 'store.db'}"})
    if plan.timed < 1:
        raise PipelineBenchError(f"{plan.rate:g} comments/s for {plan.duration_s:g} s is no "
                                 "comment at all")
    ensure_topics(own)
    upgrade(own.database_url)
    load = os.getloadavg()[0]
    result: dict[str, Any] = {"plan": plan.figures(),
                              "mode": "streaming" if plan.streaming else "drain",
                              "partitions": own.topic_partitions,
                              "machine": {"cpus": os.cpu_count(), "load_1m_before": load}}
    if plan.rate is not None:
        records = cycled_records(plan.timed, source="bench-stream")
        warmup = cycled_records(max(1, round(plan.rate * WARMUP_S)), source="bench-warmup")
        result["streaming"] = stream(own, warmup, records, plan.rate, work_dir, plan)
    else:
        records, warmup = cycled_records(plan.comments, source="bench-drain"), []
        result["drain"] = drain(own, records, work_dir, plan)
    everything = [*warmup, *records]
    oracle = Oracle(own)
    scores = oracle.scores([record.text for record in everything])
    expected = {record.id for record, score in zip(everything, scores, strict=True)
                if score is not None and score >= oracle.threshold}
    with Session(make_engine(own.database_url)) as session:
        stored = set(alert_ids(session))
    result["alerts"] = {"expected": len(expected), "stored": len(stored),
                        "match": stored == expected}
    stop = result[result["mode"]]["stop"]
    stop["clean"] = (stop["exit"] == CLEAN_EXIT[plan.runner] if plan.runner in CLEAN_EXIT
                     else None)
    result["ok"] = stored == expected and stop["clean"] is not False
    if plan.stages:
        stages = stage_rates(own, records, scores[len(warmup):], work_dir)
        result["stages"] = stages
        if "drain" in result:
            result["ratio"] = _ratio(result["drain"]["steady_per_second"],
                                     stages["slowest_per_s"])
            result["ratio_with_startup"] = _ratio(result["drain"]["per_second"],
                                                  stages["slowest_per_s"])
    return result


def preflight(settings: Settings, plan: Plan = Plan()) -> None:
    """Refuse in one line, before any work directory or broker exists, what would stop the
    broker or the job from starting (:class:`KafkaServer` checks the exact jar again)."""
    if plan.runner not in RUNNERS:
        raise PipelineBenchError(f"unknown runner {plan.runner!r}; the bench runs "
                                 f"{' or '.join(RUNNERS)}")
    beam_options(RunnerChoice(plan.runner, worker_pool="localhost:0",
                              parallelism=plan.parallelism), settings.data_dir)
    libs = libs_dir(settings.data_dir)
    if not any(libs.glob("*.jar")):
        raise PipelineBenchError(f"the Apache Kafka jars are not in {libs}; run `make kafka-jars`")
    if shutil.which("java") is None:
        raise PipelineBenchError("java not found on PATH; the bench's Apache Kafka broker needs "
                                 "a Java 17+ runtime (apt-get install openjdk-17-jre-headless)")


def run(settings: Settings, plan: Plan) -> dict[str, Any]:
    """The bench on an Apache Kafka broker of its own, stopped whatever happens; the work
    directory (the job's log, the broker's) is kept when the bench fails."""
    preflight(settings, plan)
    began = time.monotonic()
    with BenchDir("yuqing-bench-pipeline-") as work:
        with KafkaServer(work.path / "kafka", libs_dir(settings.data_dir)) as kafka:
            result = run_on(settings.model_copy(update={"kafka_bootstrap": kafka.bootstrap}),
                            plan, work.path)
        work.passed = result["ok"]
    return {"ok": result["ok"], "seconds": round(time.monotonic() - began, 1), **result}


def _cell(value: object, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.3f}{unit}" if value < 10 else f"{value:,.1f}{unit}"
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value}{unit}"


def table(result: dict[str, Any]) -> str:
    lines = ["| figure | value |", "|---|---:|"]

    def row(name: str, value: object, unit: str = "") -> None:
        lines.append(f"| {name} | {_cell(value, unit)} |")

    plan = result["plan"]
    row("runner", plan["runner"] if plan["runner"] == "local"
        else f"{plan['runner']}, parallelism {plan['parallelism']}, Python steps in a worker pool")
    row("topic partitions", result["partitions"])

    if drained := result.get("drain"):
        row("comments drained", drained["comments"])
        row("job start to all committed (s)", drained["seconds"])
        row("first commit (s)", drained["startup_s"])
        row("drain rate (comments/s)", drained["per_second"])
        row("drain rate after the first commit (comments/s)", drained["steady_per_second"])
        row("CPU per comment (ms)", drained["cpu_ms_per_comment"])
        row("CPU per comment after the first commit (ms)", drained["steady_cpu_ms_per_comment"])
    if streamed := result.get("streaming"):
        row("rate asked (comments/s)", streamed["rate"])
        row("rate produced (comments/s)", streamed["produced_per_s"])
        row("comments streamed", streamed["comments"])
        for name in ("p50", "p95", "p99", "max"):
            row(f"produce to stored, {name} (s)", streamed["latency_s"][name])
        row("uncommitted when production stopped", streamed["lag_at_end"])
        row("… in seconds of input", streamed["behind_s"])
        row("caught up after (s)", streamed["catch_up_s"])
        row("kept up", "yes" if streamed["kept_up"] else "NO")
        row("CPU per comment (ms)", streamed["cpu_ms_per_comment"])
    figures = drained or streamed
    if figures["worker_cpu_s"]:
        row("CPU of each Python worker (s)", " / ".join(map(str, figures["worker_cpu_s"])))
    row("peak RSS (MiB)", figures["peak_rss_mib"])
    stop = figures["stop"]
    row("job stopped by SIGINT",
        f"no: killed after {STOP_S:g} s" if not stop["stopped_by_sigint"] else
        f"no: exit status {stop['exit']}, see its log" if stop["clean"] is False else
        "yes" if stop["clean"] else f"yes, exit status {stop['exit']}")
    if stages := result.get("stages"):
        row("text stage alone, 1 core, batches of 256 (comments/s)", stages["text_per_s"])
        row("model through RunInference alone, 1 core (comments/s)", stages["model_per_s"])
        row("store writes alone, 1 core, SQLite (comments/s)", stages["store_per_s"])
        row("slowest stage", stages["slowest"])
        if "ratio" in result:
            row("end to end ÷ slowest stage (after the first commit)", result["ratio"])
            row("end to end ÷ slowest stage (start-up included)", result["ratio_with_startup"])
    alerts = result["alerts"]
    row("alerts = reference", f"{'yes' if alerts['match'] else 'NO'} "
        f"({alerts['stored']:,} stored, {alerts['expected']:,} expected)")
    return "\n".join(lines)
