"""``yuqing bench runners``: the same job, on the same input, on each Beam runner.

For each runner a fresh topic, consumer group and SQLite store on one real Apache Kafka broker
(:mod:`pipeline.kafka_server`); the comments (held-out test reviews, cycled) are produced before
the job starts, and the job runs as an operator runs it (``python -m pipeline run --runner R``).
The clock starts when the job process starts and stops when the consumer group has committed
every offset, which the job does only for messages it has stored: so the figure covers startup,
the whole text stage and model, the store writes and the commits. The job is then stopped with
Ctrl-C, and its alerts are checked against the reference (:mod:`devkit.bench.reference`): a
runner that stores other alerts fails the bench.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from devkit.bench.faults import committed_offsets
from devkit.bench.reference import expected_alerts
from devkit.bench.workdir import BenchDir
from devkit.child import Child
from devkit.hostile import cycled_records, produce_records
from pipeline.config import Settings
from pipeline.errors import OperatorError
from pipeline.kafka import ensure_topics
from pipeline.kafka_server import KafkaServer, libs_dir
from pipeline.runners import SHORT_NAMES, RunnerChoice, beam_options
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.queries import alert_ids

log = logging.getLogger(__name__)

_POLL_S = 0.2


class RunnerBenchError(OperatorError):
    """A runner could not be measured; the message says which and why."""


@dataclass(frozen=True)
class RunnerFigures:
    runner: str
    comments: int
    startup_s: float  # job start to its first committed offset
    committed_first: int  # offsets that first commit covered
    seconds: float  # job start to every offset committed
    alerts_match: bool

    @property
    def per_second(self) -> float:
        return self.comments / self.seconds

    @property
    def steady_per_second(self) -> float:
        """After the first commit: the rate once the runner and the model are up."""
        return (self.comments - self.committed_first) / max(self.seconds - self.startup_s, 1e-9)


def measure(settings: Settings, runner: str, comments: int, work_dir: Path,
            timeout_s: float) -> RunnerFigures:
    """One runner on its own topic, group and store; ``settings`` names the broker."""
    beam_options(RunnerChoice(runner), settings.data_dir)  # a missing runner fails here, in a line
    name = f"runners-{runner}-{secrets.token_hex(3)}"
    own = settings.model_copy(update={
        "topic_comments": name, "topic_dead_letters": f"{name}.dead",
        "consumer_group": f"{name}-group",
        "database_url": f"sqlite:///{work_dir / f'{runner}.db'}"})
    ensure_topics(own)
    upgrade(own.database_url)
    records = cycled_records(comments)
    produce_records(own, records)
    log.info("%s: %d comments produced; starting the job", runner, comments)
    job = Child(["run", "--runner", runner], own, work_dir / f"{runner}.log")
    try:
        first: tuple[float, int] | None = None
        while (committed := committed_offsets(own)) < comments:
            elapsed = time.monotonic() - job.started_at
            if first is None and committed:
                first = elapsed, committed
            if job.poll() is not None or elapsed > timeout_s:
                raise RunnerBenchError(
                    f"{runner}: {committed} of {comments} offsets committed after "
                    f"{elapsed:.0f} s ({'job exited' if job.poll() is not None else 'timeout'});"
                    f" last line: {job.last_line()}")
            time.sleep(_POLL_S)
        seconds = time.monotonic() - job.started_at
    finally:
        job.interrupt()
    with Session(make_engine(own.database_url)) as session:
        stored = set(alert_ids(session))
    expected = expected_alerts(own, [(record.id, record.text) for record in records])
    startup_s, committed_first = first or (seconds, 0)
    figures = RunnerFigures(runner, comments, round(startup_s, 1), committed_first,
                            round(seconds, 1), stored == expected)
    log.info("%s: %d comments in %.1f s (first commit at %.1f s), alerts match: %s", runner,
             comments, figures.seconds, figures.startup_s, figures.alerts_match)
    return figures


def run(settings: Settings, runners: Sequence[str] = SHORT_NAMES, comments: int = 3000,
        timeout_s: float = 900.0) -> dict[str, Any]:
    """Every runner asked for, one after the other, on one Apache Kafka broker of its own."""
    if unknown := sorted(set(runners) - set(SHORT_NAMES)):
        raise RunnerBenchError(f"unknown runners {unknown}; known: {list(SHORT_NAMES)}")
    began = time.monotonic()
    with BenchDir("yuqing-runners-") as work:
        with KafkaServer(work.path / "kafka", libs_dir(settings.data_dir)) as kafka:
            broker = settings.model_copy(update={"kafka_bootstrap": kafka.bootstrap})
            figures = [measure(broker, runner, comments, work.path, timeout_s)
                       for runner in runners]
        work.passed = all(figure.alerts_match for figure in figures)
    return {"ok": work.passed, "seconds": round(time.monotonic() - began, 1), "comments": comments,
            "runners": {f.runner: asdict(f) | {"per_second": round(f.per_second, 1),
                                              "steady_per_second": round(f.steady_per_second, 1)}
                        for f in figures}}


def table(result: dict[str, Any]) -> str:
    lines = ["| runner | comments | first commit (s) | all committed (s) | comments/s | "
             "comments/s after first commit | alerts = reference |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for name, row in result["runners"].items():
        lines.append(f"| {name} | {row['comments']} | {row['startup_s']} | {row['seconds']} | "
                     f"{row['per_second']} | {row['steady_per_second']} | "
                     f"{'yes' if row['alerts_match'] else 'NO'} |")
    return "\n".join(lines)
