"""``yuqing bench faults``: the fault table, measured on the real job, broker and store.

Four rows, each on production's broker (a real Apache Kafka, :mod:`pipeline.kafka_server`) with
a fresh topic, consumer group and database of its own, the job always a child process as an
operator runs it (``python -m pipeline run --until-idle S``):

* ``kill``: the job is SIGKILLed at seeded random moments while it works through a backlog, and
  restarted each time;
* ``store``: the PostgreSQL server under the streaming job is shut down (``pg_ctl stop -m
  fast``) for an outage while comments keep arriving, then started again;
* ``broker``: the broker is SIGKILLed and restarted while a crawl of the demo site produces and
  the job consumes; a job or crawl that exits is restarted and the exit recorded;
* ``hostile``: every kind of message the job must refuse (:mod:`devkit.hostile`), mixed into
  valid comments.

Nothing is assumed: after each row the store is audited against a reference computed without
the job (:mod:`devkit.bench.reference`), and the consumer group's committed offsets are
compared with the topics' ends. *Lost* counts what the reference says must be stored and is
not; *duplicated* counts every row the reference does not have (a version stored twice, a second
dead letter for one Kafka message, an alert nobody should have raised).
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from devkit.bench.reference import Audit, Oracle, Reference, audit, reference
from devkit.bench.workdir import BenchDir
from devkit.child import Child
from devkit.demosite.comments import demo_comments
from devkit.demosite.server import DemoSite
from devkit.hostile import (
    EVERY_KIND,
    LARGE_MESSAGE_BYTES,
    cycled_records,
    produce,
)
from devkit.postgres import PostgresServer
from pipeline.config import Settings
from pipeline.errors import OperatorError
from pipeline.kafka import ensure_topics, make_consumer
from pipeline.kafka_server import KafkaServer, libs_dir
from pipeline.records import CommentRecord
from pipeline.store.migrations import upgrade

log = logging.getLogger(__name__)

ROWS = ("kill", "store", "broker", "hostile")

# --until-idle for rows whose input is all on the topic before the job starts: it only ends the
# final drain, so short.
DRAIN_IDLE_S = 5.0
# While the broker is down and its clients back off (kafka-python waits up to 30 s between
# reconnects), partitions poll nothing; the job must not mistake that for the end of the input.
BROKER_IDLE_S = 60.0
# How long a job may go without committing anything before the bench gives up on it.
STALL_S = 300.0
CRAWL_TIMEOUT_S = 300.0
CRAWL_RUNS_MAX = 4
SPIDERS = ("demo_reviews", "demo_api")
# One message in this many is hostile: every kind recurs at volume without the multi-MB kinds
# (about 14 MB a round of all kinds) making the row about disk speed.
HOSTILE_SHARE = 10
POLL_S = 0.5
# The CLI's one-line error: an exit that says why, as opposed to a traceback or a silent death.
CLEAR_EXIT = "yuqing: error: "
JOB_STARTED = "job starting: "


class FaultBenchError(OperatorError):
    """The bench itself could not run a row (no job start, no progress); one line for the
    operator, as every :class:`OperatorError` is."""


# ----------------------------------------------------------------------------------------------
# Kafka offsets, read from outside the job.


def _partitions(settings: Settings, topic: str) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in range(settings.topic_partitions)]


def committed_by_partition(settings: Settings, topic: str | None = None) -> list[int]:
    """The consumer group's committed offset on each partition of ``topic`` (the comments
    topic); 0 where it has none."""
    consumer = make_consumer(settings)
    try:
        return [consumer.committed(partition) or 0
                for partition in _partitions(settings, topic or settings.topic_comments)]
    finally:
        consumer.close()


def committed_offsets(settings: Settings, topic: str | None = None) -> int:
    """The committed offsets summed: how many messages the job has finished with, stored and
    committed."""
    return sum(committed_by_partition(settings, topic))


def end_offsets(settings: Settings, topic: str | None = None) -> int:
    """The topic's end offsets, summed: how many messages it holds."""
    consumer = make_consumer(settings)
    try:
        ends = consumer.end_offsets(_partitions(settings, topic or settings.topic_comments))
        return sum(ends.values())
    finally:
        consumer.close()


def offsets_short(settings: Settings) -> int:
    """How far the group's committed offsets fall short of the ends of both topics the job
    reads; 0 when the job finished with every message."""
    return sum(end_offsets(settings, topic) - committed_offsets(settings, topic)
               for topic in (settings.topic_comments, settings.topic_dead_letters))


def trickle(settings: Settings, records: Sequence[CommentRecord], until: float,
            every_s: float) -> None:
    """Produce ``records`` a few at a time, every ``every_s`` up to monotonic time ``until``,
    so that no partition sits idle through a fault that lasts that long."""
    batches = max(1, int((until - time.monotonic()) / every_s))
    size = max(1, -(-len(records) // batches))
    for start in range(0, len(records), size):
        produce(settings, [(r.kafka_key(), r.kafka_value()) for r in records[start:start + size]])
        time.sleep(max(0.0, min(every_s, until - time.monotonic())))


def _allow_large_messages(settings: Settings) -> None:
    """The hostile kinds include multi-MB messages, over the broker's 1 MB default."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers,
                             request_timeout_ms=int(settings.kafka_timeout_s * 1000))
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, settings.topic_comments,
                                            configs={"max.message.bytes": LARGE_MESSAGE_BYTES})])
    finally:
        admin.close()


# ----------------------------------------------------------------------------------------------
# Children: the job and the crawl, as an operator runs them.

class Lab:
    """What every row shares: the settings, the broker, a work directory, and every child
    started, so that all of them are stopped whatever happens."""

    def __init__(self, settings: Settings, kafka: KafkaServer, work_dir: Path,
                 oracle: Oracle) -> None:
        self.settings = settings
        self.kafka = kafka
        self.work_dir = work_dir
        self.oracle = oracle
        self.children: list[Child] = []

    def settings_for(self, row: str, database_url: str | None = None) -> Settings:
        """This row's own topics, group and store (a new SQLite file unless given), ready."""
        row_dir = self.work_dir / row
        row_dir.mkdir(parents=True, exist_ok=True)
        name = f"faults-{row}-{secrets.token_hex(3)}"
        settings = self.settings.model_copy(update={
            "topic_comments": name, "topic_dead_letters": f"{name}.dead",
            "consumer_group": f"{name}-group",
            "database_url": database_url or f"sqlite:///{row_dir / 'store.db'}"})
        ensure_topics(settings)
        upgrade(settings.database_url)
        return settings

    def start(self, row: str, args: Sequence[str], settings: Settings,
              json_stdout: bool = False) -> Child:
        number = sum(child.log_path.parent.name == row for child in self.children) + 1
        stem = self.work_dir / row / f"{args[0]}-{number}"
        child = Child(args, settings, stem.with_suffix(".log"),
                      stem.with_suffix(".json") if json_stdout else None)
        self.children.append(child)
        return child

    def job(self, row: str, settings: Settings, idle_s: float) -> Child:
        return self.start(row, ["run", f"--until-idle={idle_s:g}"], settings)

    def close(self) -> None:
        for child in self.children:
            child.kill()


@dataclass
class Run:
    """One run of the job, as the bench saw it end."""

    ended: str  # "idle" (exit 0), "killed", "exit N", "hung"
    seconds: float
    started_at: dict[int, int]  # where each partition it got to started (from its log)
    line: str = ""  # its last line, when it exited on its own with an error
    commit_failures: int = 0  # offset commits the broker never took, from its log's warnings
    short_at_exit: int | None = None  # messages it left uncommitted (the broker row measures it)

    @property
    def clear(self) -> bool:
        return self.ended in ("idle", "killed") or self.line.startswith(CLEAR_EXIT)


def _started_at(child: Child, topic: str) -> dict[int, int]:
    """Where the job's partitions of ``topic`` started, from its own log lines; a run killed
    early has logged some partitions or none."""
    found = re.findall(rf"{re.escape(topic)}/(\d+): starting at offset (\d+)", child.log_text())
    return {int(partition): int(offset) for partition, offset in found}


def _ended(child: Child, topic: str, status: int | None) -> Run:
    seconds = round(time.monotonic() - child.started_at, 1)
    start = _started_at(child, topic)
    failures = len(re.findall(r"committing offset \d+ of .* failed", child.log_text()))
    if status is None:
        ended, line = "hung", ""
    elif status == 0:
        ended, line = "idle", ""
    elif status == -signal.SIGKILL:
        ended, line = "killed", ""
    else:
        ended, line = f"exit {status}", child.last_line()
    return Run(ended, seconds, start, line, failures)


def _wait(condition: Callable[[], bool], timeout_s: float, what: str,
          tend: Callable[[], None] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if tend is not None:
            tend()
        if time.monotonic() > deadline:
            raise FaultBenchError(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(POLL_S)


def _wait_for_exit(job: Child, settings: Settings) -> int | None:
    """The job's exit status once it ends by itself; None, and the job killed, if it commits
    nothing for :data:`STALL_S` first (a big backlog may take long, but never without
    progress)."""
    committed, since = -1, time.monotonic()
    while (status := job.poll()) is None:
        if (now := committed_offsets(settings)) != committed:
            committed, since = now, time.monotonic()
        elif time.monotonic() - since > STALL_S:
            job.kill()
            return None
        time.sleep(POLL_S)
    return status


def _first_start(job: Child) -> None:
    """Wait until the job is past its preflight checks; a first run that fails them is a set-up
    problem (no artifact, no store), not a fault result."""
    _wait(lambda: JOB_STARTED in job.log_text() or job.poll() is not None, STALL_S,
          f"the job to start (log: {job.log_path})")
    if JOB_STARTED not in job.log_text():
        raise FaultBenchError(f"the job did not start: {job.last_line()} (log: {job.log_path})")


# ----------------------------------------------------------------------------------------------
# The rows.


@dataclass
class RowReport:
    row: str
    fault: str
    load: str
    injected: str
    survived: bool
    how: str  # the table's "job survived" cell
    audit: Audit
    short: int  # committed offsets short of the topics' ends
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    # For a second look at the store and the topics (the tests break them on purpose); not part
    # of the figures.
    settings: Settings | None = None
    expected: Reference | None = None

    @property
    def ok(self) -> bool:
        return (self.survived and self.short == 0 and self.audit.lost == 0
                and self.audit.duplicated == 0)

    def figures(self) -> dict[str, Any]:
        return {"fault": self.fault, "load": self.load, "injected": self.injected,
                "lost": self.audit.lost, "duplicated": self.audit.duplicated,
                "survived": self.survived, "job_survived": self.how,
                "offsets_short": self.short, "ok": self.ok, "seconds": self.seconds,
                **asdict(self.audit), **self.details}


def _runs_json(runs: list[Run]) -> list[dict[str, Any]]:
    return [asdict(run) for run in runs]


def kill_row(lab: Lab, comments: int, kills: int, rng: random.Random) -> RowReport:
    """SIGKILL the job ``kills`` times at random moments while it works through ``comments``,
    restarting it each time; then let it drain and compare.

    Each kill waits for the stream to pass a random point (so kills spread over the backlog),
    then for the restarted job to be past its checks, then a random fraction of a couple of
    seconds: the kill lands while partitions start, mid-bundle, mid-write or mid-commit.
    """
    began = time.monotonic()
    settings = lab.settings_for("kill")
    records = cycled_records(comments, source="bench-kill")
    log.info("kill row: producing %d comments to %s", len(records), settings.topic_comments)
    produce(settings, [(r.kafka_key(), r.kafka_value()) for r in records])
    expected = reference(lab.oracle, [(r.id, r.text) for r in records])
    targets = sorted(int(rng.uniform(0.02, 0.95) * comments) for _ in range(kills))
    runs: list[Run] = []
    at_kill: list[list[int]] = []
    for number, target in enumerate(targets, start=1):
        job = lab.job("kill", settings, DRAIN_IDLE_S)
        if number == 1:
            _first_start(job)
        _wait(lambda t=target, j=job: (JOB_STARTED in j.log_text()
                                       and committed_offsets(settings) >= t)
              or j.poll() is not None, STALL_S,
              f"the job to commit {target} messages (log: {job.log_path})")
        time.sleep(rng.uniform(0.0, 2.0))
        status = job.poll()
        job.kill()
        runs.append(_ended(job, settings.topic_comments, status if status is not None
                           else -signal.SIGKILL))
        at_kill.append(committed_by_partition(settings))
        log.info("kill row: kill %d/%d with %d of %d committed", number, kills,
                 sum(at_kill[-1]), comments)
    log.info("kill row: restarting the job to drain the rest")
    job = lab.job("kill", settings, DRAIN_IDLE_S)
    runs.append(_ended(job, settings.topic_comments, _wait_for_exit(job, settings)))
    # A restart resumes if each partition starts where the group's commit stood when its
    # predecessor died, or later (a commit still in flight at the kill), never earlier. A
    # partition a run was killed before starting was never read by it.
    resumed = [all(start >= committed[partition] for partition, start in run.started_at.items())
               for run, committed in zip(runs[1:], at_kill, strict=True)]
    killed = sum(run.ended == "killed" for run in runs)
    survived = runs[-1].ended == "idle" and all(resumed) and killed == kills
    how = (f"restarts resume ({len(runs)} runs)" if survived
           else _what_went_wrong(runs, resumed))
    return RowReport(
        row="kill", fault="`kill -9` of the job", load=f"{comments:,} comments",
        injected=f"{killed} kills ({sum(0 < sum(c) < comments for c in at_kill)} mid-stream)",
        survived=survived, how=how, audit=audit(settings.database_url, expected),
        short=offsets_short(settings), seconds=round(time.monotonic() - began, 1),
        details={"kills": killed, "committed_at_kill": [sum(c) for c in at_kill],
                 "restarts_resumed": sum(resumed), "runs": _runs_json(runs)},
        settings=settings, expected=expected)


def _what_went_wrong(runs: list[Run], resumed: list[bool]) -> str:
    failed = [run for run in runs if run.ended not in ("idle", "killed")]
    if failed:
        return f"no: {failed[0].ended}: {failed[0].line}".rstrip(": ")
    if not all(resumed):
        return f"no: run {resumed.index(False) + 2} started below the committed offsets"
    return "no: the job ended before it could be killed"


def store_row(lab: Lab, comments: int, outage_s: float) -> RowReport:
    """Shut PostgreSQL down under the streaming job for ``outage_s`` while a third of the
    comments arrive, start it again, send the last third; the job must ride it out."""
    began = time.monotonic()
    every_s = min(6.0, outage_s / 5)
    # Longer than any gap between arrivals, so only the real end of the input stops the job.
    idle_s = max(10.0, 3 * every_s)
    records = cycled_records(comments, source="bench-store")
    third = len(records) // 3
    before, during, after = records[:third], records[third:2 * third], records[2 * third:]
    with PostgresServer() as postgres:
        settings = lab.settings_for("store", database_url=postgres.url)
        expected = reference(lab.oracle, [(r.id, r.text) for r in records])
        log.info("store row: %d comments before the outage, %d during, %d after", len(before),
                 len(during), len(after))
        produce(settings, [(r.kafka_key(), r.kafka_value()) for r in before])
        job = lab.job("store", settings, idle_s)
        _first_start(job)
        _wait(lambda: committed_offsets(settings) > 0 or job.poll() is not None, STALL_S,
              f"the job's first commit (log: {job.log_path})")
        log.info("store row: stopping PostgreSQL for %gs", outage_s)
        postgres.stop()
        back_at = time.monotonic() + outage_s
        trickle(settings, during, until=back_at, every_s=every_s)
        time.sleep(max(0.0, back_at - time.monotonic()))
        ended_in_outage = job.poll() is not None
        postgres.start()
        log.info("store row: PostgreSQL is back; %d more comments", len(after))
        produce(settings, [(r.kafka_key(), r.kafka_value()) for r in after])
        run = _ended(job, settings.topic_comments, _wait_for_exit(job, settings))
        text = job.log_text()
        survived = not ended_in_outage and run.ended == "idle"
        how = "yes, without restart" if survived else (
            f"no: {run.ended} during the outage: {run.line}" if ended_in_outage
            else f"no: {run.ended}: {run.line}")
        return RowReport(
            row="store", fault=f"store down {outage_s:g} s (PostgreSQL)",
            load=f"{comments:,} comments, streaming", injected="1 outage",
            survived=survived, how=how, audit=audit(settings.database_url, expected),
            short=offsets_short(settings), seconds=round(time.monotonic() - began, 1),
            details={"outage_s": outage_s, "arrived_during_outage": len(during),
                     "outage_warnings": text.count(" unreachable for "),
                     "recovery_logged": " is back after " in text, "runs": _runs_json([run])},
            settings=settings, expected=expected)


class _BrokerStory:
    """The job and the crawl under a broker that keeps dying: each is restarted when it exits
    before its work is done, and every exit is kept for the report."""

    def __init__(self, lab: Lab, settings: Settings, base_url: str, idle_s: float) -> None:
        self.lab, self.settings, self.base_url, self.idle_s = lab, settings, base_url, idle_s
        self.runs: list[Run] = []
        self.crawls: list[dict[str, Any]] = []
        self.first_job = lab.job("broker", settings, idle_s)
        self.job: Child | None = self.first_job
        self.crawl: Child | None = None
        self.crawled = False  # a crawl has delivered every comment

    def start_crawl(self) -> None:
        # Its data directory is the row's, so the files listing what it could not deliver stay
        # with the row's logs rather than in the operator's.
        crawl_settings = self.settings.model_copy(
            update={"data_dir": self.lab.work_dir / "broker"})
        self.crawl = self.lab.start("broker", ["crawl", *SPIDERS, "--base-url", self.base_url],
                                    crawl_settings, json_stdout=True)

    def crawling(self) -> bool:
        return self.crawl is not None and self.crawl.poll() is None

    def tend(self) -> None:
        """Called only while the broker is up, so whatever is restarted here can reach it."""
        if self.crawl is not None and (status := self.crawl.poll()) is not None:
            self._crawl_ended(self.crawl, status)
        elif self.crawl is not None and time.monotonic() - self.crawl.started_at > CRAWL_TIMEOUT_S:
            self.crawl.kill()
            self._crawl_ended(self.crawl, None)
        if self.job is not None and (status := self.job.poll()) is not None:
            self._job_ended(self.job, status)
            if not self.crawled:
                self._restart_job()

    def _job_ended(self, job: Child, status: int | None) -> None:
        run = _ended(job, self.settings.topic_comments, status)
        run.short_at_exit = offsets_short(self.settings)
        self.runs.append(run)
        self.job = None
        log.info("broker row: the job ended (%s%s) with %d messages uncommitted", run.ended,
                 f": {run.line}" if run.line else "", run.short_at_exit)

    def _restart_job(self) -> None:
        log.info("broker row: restarting the job")
        self.job = self.lab.job("broker", self.settings, self.idle_s)

    def _crawl_ended(self, crawl: Child, status: int | None) -> None:
        summary = _crawl_summary(crawl)
        undelivered = sum(spider.get("undelivered", 0) for spider in summary.values())
        produced = sum(spider.get("produced", 0) for spider in summary.values())
        ended = "hung" if status is None else f"exit {status}"
        self.crawls.append({"ended": ended, "produced": produced, "undelivered": undelivered,
                            "line": "" if status == 0 else crawl.last_line()})
        log.info("broker row: crawl %d %s: %d produced, %d undelivered", len(self.crawls),
                 ended, produced, undelivered)
        self.crawl = None
        if status == 0 and not undelivered:
            self.crawled = True
        elif len(self.crawls) < CRAWL_RUNS_MAX:
            log.info("broker row: crawling again")
            self.start_crawl()
        else:
            self.crawled = True  # given up: the audit will count what never arrived

    def drain(self) -> None:
        """Wait for the crawl, then for the job to finish with every message, restarting it if
        it ended short of the topics' ends."""
        _wait(lambda: self.crawled, CRAWL_TIMEOUT_S * CRAWL_RUNS_MAX, "the crawl", self.tend)
        while True:
            if self.job is not None:
                status = _wait_for_exit(self.job, self.settings)
                self._job_ended(self.job, status)
                if status is None:
                    return
            if self.runs[-1].short_at_exit == 0 or len(self.runs) > 10:
                return
            self._restart_job()


def _crawl_summary(crawl: Child) -> dict[str, dict[str, Any]]:
    """``yuqing crawl``'s JSON summary; empty when it died before printing one."""
    assert crawl.stdout_path is not None
    try:
        summary = json.loads(crawl.stdout_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def broker_row(lab: Lab, kills: int, rng: random.Random, site_comments: int | None = None,
               idle_s: float = BROKER_IDLE_S) -> RowReport:
    """SIGKILL the broker ``kills`` times while a crawl of the demo site produces and the job
    consumes, restarting it after a random pause; the first kill waits for the crawl's first
    messages, so at least one lands during the crawl."""
    began = time.monotonic()
    settings = lab.settings_for("broker")
    comments = demo_comments(site_comments)
    expected = reference(lab.oracle, [(c.record_id, c.text) for c in comments])
    during_crawl = 0
    with DemoSite(comments) as site:
        story = _BrokerStory(lab, settings, site.base_url, idle_s)
        _first_start(story.first_job)
        log.info("broker row: crawling %d comments from %s", len(comments), site.base_url)
        story.start_crawl()
        for number in range(1, kills + 1):
            if number == 1:
                _wait(lambda: end_offsets(settings) > 0 or not story.crawling(), STALL_S,
                      "the crawl's first messages", story.tend)
            else:
                pause = time.monotonic() + rng.uniform(2.0, 8.0)
                _wait(lambda p=pause: time.monotonic() >= p, STALL_S, "a pause", story.tend)
            in_crawl = story.crawling()
            during_crawl += in_crawl
            down_s = rng.uniform(0.5, 3.0)
            log.info("broker row: kill %d/%d of the broker (%s), down %.1fs", number, kills,
                     "during the crawl" if in_crawl else "after the crawl", down_s)
            lab.kafka.kill()
            time.sleep(down_s)
            lab.kafka.start()
            story.tend()
        story.drain()
    runs = story.runs
    exits = [run for run in runs if run.ended != "idle"]
    survived = bool(runs) and runs[-1].ended == "idle" and all(run.clear for run in exits)
    if survived and len(runs) == 1:
        how = "yes"
    elif survived and exits:
        how = f"exits clearly and resumes ({len(runs)} runs; first exit: {exits[0].line})"
    elif survived:
        first = runs[0]
        how = (f"yes, but run 1 ended idle with {first.short_at_exit} messages uncommitted "
               f"({first.commit_failures} offset commits failed while the broker was down); "
               "a restart read them again")
    else:
        how = _what_went_wrong(runs, [])
    crawl_exits = sum(crawl["ended"] != "exit 0" for crawl in story.crawls)
    return RowReport(
        row="broker", fault="broker `kill -9` + restart (Apache Kafka)",
        load=f"streaming + crawl of {len(comments):,} comments",
        injected=f"{kills} kills ({during_crawl} during the crawl)", survived=survived, how=how,
        audit=audit(settings.database_url, expected), short=offsets_short(settings),
        seconds=round(time.monotonic() - began, 1),
        details={"kills": kills, "kills_during_crawl": during_crawl, "job_exits": len(exits),
                 "crawl_runs": len(story.crawls), "crawl_exits": crawl_exits,
                 "crawls": story.crawls, "runs": _runs_json(runs)},
        settings=settings, expected=expected)


def _interleave(valid: Sequence[tuple[bytes | None, bytes | None]],
                hostile: Sequence[tuple[bytes | None, bytes | None]]
                ) -> Iterator[tuple[bool, tuple[bytes | None, bytes | None]]]:
    """Both lists in one stream, the hostile ones spread evenly through it."""
    total, placed = len(valid) + len(hostile), 0
    valid_iter, hostile_iter = iter(valid), iter(hostile)
    for index in range(total):
        due = (index + 1) * len(hostile) // total > placed
        if due:
            placed += 1
            yield True, next(hostile_iter)
        else:
            yield False, next(valid_iter)


def hostile_row(lab: Lab, messages: int) -> RowReport:
    """``messages`` in all, one in :data:`HOSTILE_SHARE` hostile (at least one of every kind),
    the kinds in turn; the job must dead-letter each hostile one once and score the rest."""
    began = time.monotonic()
    settings = lab.settings_for("hostile")
    _allow_large_messages(settings)
    count = min(messages, max(len(EVERY_KIND), messages // HOSTILE_SHARE))
    kinds = [EVERY_KIND[i % len(EVERY_KIND)] for i in range(count)]
    records = cycled_records(messages - count, source="bench-hostile")
    hostile = [(f"hostile-{i}".encode(), kind.raw) for i, kind in enumerate(kinds)]
    stream = list(_interleave([(r.kafka_key(), r.kafka_value()) for r in records], hostile))
    log.info("hostile row: producing %d messages, %d of them hostile (%d kinds)", len(stream),
             count, len({kind.name for kind in kinds}))
    positions = produce(settings, [message for _is_hostile, message in stream],
                        max_request_size=LARGE_MESSAGE_BYTES)
    hostile_at = [(settings.topic_comments, *position)
                  for (is_hostile, _m), position in zip(stream, positions, strict=True)
                  if is_hostile]
    expected = reference(lab.oracle, [(r.id, r.text) for r in records],
                         dict(zip(hostile_at, kinds, strict=True)))
    job = lab.job("hostile", settings, DRAIN_IDLE_S)
    _first_start(job)
    run = _ended(job, settings.topic_comments, _wait_for_exit(job, settings))
    survived = run.ended == "idle"
    result = audit(settings.database_url, expected)
    return RowReport(
        row="hostile", fault="hostile messages",
        load=f"{messages:,} messages ({count:,} hostile)",
        injected=f"{len({kind.name for kind in kinds})} kinds", survived=survived,
        how="yes" if survived else f"no: {run.ended}: {run.line}", audit=result,
        short=offsets_short(settings), seconds=round(time.monotonic() - began, 1),
        details={"hostile": count, "kinds": len({kind.name for kind in kinds}),
                 "reasons_as_named": count - result.wrong_reasons, "runs": _runs_json([run])},
        settings=settings, expected=expected)


# ----------------------------------------------------------------------------------------------
# The whole bench.


@dataclass(frozen=True)
class Sizes:
    """How big each row is; the defaults are the issue's."""

    comments: int = 20_000
    kills: int = 15
    outage_s: float = 60.0
    broker_kills: int = 3
    hostile: int = 10_000
    seed: int = 0
    # The demo site serves every held-out review unless told fewer (the tests).
    site_comments: int | None = None
    broker_idle_s: float = BROKER_IDLE_S


def run_rows(settings: Settings, rows: Sequence[str], sizes: Sizes, work_dir: Path,
             kafka: KafkaServer) -> list[RowReport]:
    """Run ``rows`` on the running broker ``kafka``, each under ``work_dir``/row; every child
    and any PostgreSQL server are stopped on the way out, whatever happened. The broker is left
    running (the broker row restarts it after each kill) unless a row failed while it was down.
    """
    rng = random.Random(sizes.seed)
    lab = Lab(settings.model_copy(update={"kafka_bootstrap": kafka.bootstrap}), kafka,
              work_dir, Oracle(settings))
    reports: list[RowReport] = []
    try:
        for row in rows:
            log.info("%s row: starting", row)
            if row == "kill":
                reports.append(kill_row(lab, sizes.comments, sizes.kills, rng))
            elif row == "store":
                reports.append(store_row(lab, sizes.comments, sizes.outage_s))
            elif row == "broker":
                reports.append(broker_row(lab, sizes.broker_kills, rng, sizes.site_comments,
                                          sizes.broker_idle_s))
            else:
                reports.append(hostile_row(lab, sizes.hostile))
            log.info("%s row: lost %d, duplicated %d, job survived: %s (%.0fs)", row,
                     reports[-1].audit.lost, reports[-1].audit.duplicated, reports[-1].how,
                     reports[-1].seconds)
        return reports
    finally:
        lab.close()


def run(settings: Settings, rows: Sequence[str] = ROWS, sizes: Sizes | None = None
        ) -> dict[str, Any]:
    """Run the rows asked for on a broker of their own in a temporary work directory, and
    return their figures.

    The work directory (logs of every child, the broker's data) is deleted when every row
    passed, and kept and named otherwise, for the logs.
    """
    sizes = sizes or Sizes()
    if unknown := sorted(set(rows) - set(ROWS)):
        raise FaultBenchError(f"unknown rows {unknown}; known: {list(ROWS)}")
    began = time.monotonic()
    with BenchDir("yuqing-faults-") as work:
        log.info("starting Apache Kafka for the fault bench (work dir %s)", work.path)
        with KafkaServer(work.path / "kafka", libs_dir(settings.data_dir)) as kafka:
            reports = run_rows(settings, rows, sizes, work.path, kafka)
        work.passed = all(report.ok for report in reports)
    return {"ok": work.passed, "seconds": round(time.monotonic() - began, 1),
            "sizes": asdict(sizes), "rows": {r.row: r.figures() for r in reports}}


def table(result: dict[str, Any]) -> str:
    """The issue's table, in Markdown."""
    lines = ["| fault | load | injected | lost | duplicated | job survived |",
             "|---|---|---|---|---|---|"]
    for figures in result["rows"].values():
        survived = figures["job_survived"]
        if figures["offsets_short"]:
            survived += f"; committed offsets {figures['offsets_short']} short of the end"
        lines.append(f"| {figures['fault']} | {figures['load']} | {figures['injected']} | "
                     f"{figures['lost']} | {figures['duplicated']} | {survived} |")
    return "\n".join(lines)
