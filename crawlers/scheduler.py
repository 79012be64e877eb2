"""``yuqing schedule``: every site profile crawled on its own schedule, 7×24.

APScheduler does the scheduling: interval and cron triggers with jitter, one running instance
per job, missed runs coalesced into one, and its jobs (each profile's trigger and next run time)
kept in our database (table ``scheduled_crawls``), so a restarted scheduler carries on where it
was instead of crawling everything at once. What is ours:

- **One process per crawl.** Twisted's reactor cannot restart in a process, and a crawl that
  crashes, leaks or hangs must not take the scheduler with it. A crawl is ``yuqing crawl
  --profile FILE`` in a child process; its log goes to ``DATA_DIR/logs/crawls/<profile>.log``.
  It records its own crawl run and health (:mod:`crawlers.run`); a child that ends without a
  summary (killed, crashed, timed out) is recorded here, so the failure still shows in
  ``yuqing crawls`` and ``yuqing sources``.
- **One crawl per profile at a time**, also across schedulers: APScheduler's ``max_instances``
  covers one scheduler, and a lock file per profile (``DATA_DIR/crawls/<profile>.lock``) covers
  a ``--once`` run from cron that overlaps the previous one still crawling.
- **Profiles are files.** The profile directory is read again every :data:`RESCAN_S` seconds:
  a new profile is crawled at once, a changed schedule is applied, and a removed profile's job
  is dropped. A file that fails to load is logged and its job kept as it was.

The job function is :func:`crawl_profile`, a module-level function because APScheduler stores a
job by reference to its function; the running children are therefore tracked at module level
too, for :func:`stop_crawls`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor as Pool
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from crawlers import metrics
from crawlers.profiles import Profile, ProfileError, load_profile, load_profile_files
from crawlers.run import crawl_summary_problems, record_run
from pipeline.config import Settings, get_settings
from pipeline.store.engine import StoreError, open_store
from pipeline.store.models import ScheduledCrawl

log = logging.getLogger(__name__)

RESCAN_S = 60.0
STOP_GRACE_S = 30.0
"""How long a crawl asked to stop (SIGTERM: Scrapy finishes what it fetched and saves its state)
gets before it is killed; killed, it has saved what Kafka acknowledged up to its last second."""
LOG_ROTATE_BYTES = 10 * 2**20
"""A crawl log past this size is renamed ``PROFILE.log.1`` (one old log is kept)."""

_children: dict[str, subprocess.Popen[str]] = {}
_children_lock = threading.Lock()
_stopping = threading.Event()  # set by stop_crawls: a crawl ended now was stopped by us


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    CRASHED = "crashed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CrawlResult:
    profile_id: str
    outcome: Outcome
    seconds: float
    summary: dict[str, Any] | None
    detail: str = ""


def crawl_profile(path: str) -> CrawlResult:
    """One crawl of the profile in ``path``, in its own process, never raising: whatever
    happens to the crawl, the scheduler goes on."""
    settings = get_settings()
    try:
        profile = load_profile(Path(path))
    except ProfileError as error:
        log.error("cannot crawl %s: %s", path, error)
        return CrawlResult(Path(path).stem, Outcome.FAILED, 0.0, None, str(error))
    if _stopping.is_set():
        return CrawlResult(profile.id, Outcome.SKIPPED, 0.0, None, "the scheduler is stopping")
    with _profile_lock(settings, profile.id) as held:
        if not held:
            log.warning("%s: its previous crawl is still running; this one is skipped",
                        profile.id)
            metrics.CRAWLS.labels(profile.id, Outcome.SKIPPED).inc()
            return CrawlResult(profile.id, Outcome.SKIPPED, 0.0, None)
        metrics.RUNNING.labels(profile.id).inc()
        try:
            result = _crawl_in_child(settings, profile, path)
        finally:
            metrics.RUNNING.labels(profile.id).dec()
    metrics.observe(profile.id, result.outcome, result.seconds, result.summary, time.time())
    summary = result.summary or {}
    log.log(logging.INFO if result.outcome == Outcome.OK else logging.WARNING,
            "%s: crawl %s in %.1f s: %d pages, %d new comments sent%s", profile.id,
            result.outcome, result.seconds, summary.get("pages", 0), summary.get("produced", 0),
            f" ({result.detail})" if result.detail else "")
    return result


def _crawl_in_child(settings: Settings, profile: Profile, path: str) -> CrawlResult:
    log_path = settings.data_dir / "logs" / "crawls" / f"{profile.id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if log_path.exists() and log_path.stat().st_size > LOG_ROTATE_BYTES:
        log_path.replace(log_path.with_name(f"{log_path.name}.1"))
    started_at, started = datetime.now(UTC), time.monotonic()
    command = [sys.executable, "-m", "pipeline", "crawl", "--profile", path]
    with log_path.open("a", encoding="utf-8") as log_file:
        log_file.write(f"--- {started_at.isoformat()} {' '.join(command)}\n")
        log_file.flush()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_file, text=True,
                                 start_new_session=True)  # a terminal's Ctrl-C is ours to pass on
        with _children_lock:
            _children[profile.id] = child
            if _stopping.is_set():  # started as the scheduler began to stop
                _signal(child, signal.SIGTERM)
        try:
            output, detail = _wait(child, settings.crawl_timeout_s), ""
        except subprocess.TimeoutExpired:
            detail = f"stopped after the crawl timeout of {settings.crawl_timeout_s:.0f} s"
            output = _stop(child)
        finally:
            with _children_lock:
                _children.pop(profile.id, None)
    seconds = time.monotonic() - started
    if _stopping.is_set():
        detail = "stopped: the scheduler is shutting down"
    summary = _summary(output, profile.id)
    if summary is not None:
        if child.returncode == 0 and summary.get("ok"):
            return CrawlResult(profile.id, Outcome.OK, seconds, summary, detail)
        problems = crawl_summary_problems({profile.id: summary})
        detail = detail or (problems[0] if problems else f"see {log_path}")
        return CrawlResult(profile.id, Outcome.FAILED, seconds, summary, detail)
    detail = detail or f"exit status {child.returncode}, no summary; see {log_path}"
    try:
        record_run(settings.database_url, profile, _crashed(started_at, detail))
    except (StoreError, SQLAlchemyError) as error:
        log.error("%s: could not record the failed crawl: %s", profile.id, error)
    return CrawlResult(profile.id, Outcome.CRASHED, seconds, None, detail)


def _wait(child: subprocess.Popen[str], timeout_s: float) -> str:
    output, _ = child.communicate(timeout=timeout_s)
    return output


def _stop(child: subprocess.Popen[str]) -> str:
    """SIGTERM, then SIGKILL after :data:`STOP_GRACE_S`; what the child printed."""
    _signal(child, signal.SIGTERM)
    try:
        return _wait(child, STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        _signal(child, signal.SIGKILL)
        return _wait(child, STOP_GRACE_S)


def _summary(output: str, profile_id: str) -> dict[str, Any] | None:
    """The profile's summary in what ``yuqing crawl`` printed: None if it printed none."""
    try:
        summary = json.loads(output).get(profile_id) if output.strip() else None
    except (json.JSONDecodeError, AttributeError):
        return None
    return summary if isinstance(summary, dict) else None


def _crashed(started_at: datetime, reason: str) -> dict[str, Any]:
    """The crawl-run row of a crawl that ended without saying what it did."""
    return {"started_at": started_at.isoformat(), "finished_at": datetime.now(UTC).isoformat(),
            "pages": 0, "items": 0, "new_items": 0, "dead_letters": 0, "undelivered": 0,
            "http_errors": {}, "retries": 0, "bans_suspected": 0,
            "finish_reason": reason[:64], "ok": False}


@contextlib.contextmanager
def _profile_lock(settings: Settings, profile_id: str) -> Iterator[bool]:
    """Whether this process may crawl the profile now: an exclusive lock on its lock file,
    released by the kernel even when the process dies."""
    path = settings.data_dir / "crawls" / f"{profile_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def stop_crawls() -> None:
    """Asks every running crawl to stop (SIGTERM): each saves what it delivered and where its
    paging got to, and the next crawl resumes from there. No crawl starts after this, and one
    still running :data:`STOP_GRACE_S` later is killed. Safe to call from a signal handler."""
    _stopping.set()
    with _children_lock:
        children = list(_children.items())
    for profile_id, child in children:
        log.info("%s: asking its crawl to stop", profile_id)
        _signal(child, signal.SIGTERM)
    killer = threading.Timer(STOP_GRACE_S, _kill_crawls)
    killer.daemon = True
    killer.start()


def _kill_crawls() -> None:
    with _children_lock:
        children = list(_children.items())
    for profile_id, child in children:
        log.warning("%s: its crawl did not stop within %.0f s; killing it", profile_id,
                    STOP_GRACE_S)
        _signal(child, signal.SIGKILL)


def _signal(child: subprocess.Popen[str], number: int) -> None:
    """Signals the child's process group (the crawl and anything it started)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, number)


class CrawlScheduler:
    """The profiles in one directory, each a job of an APScheduler kept in our database."""

    def __init__(self, settings: Settings, directory: Path) -> None:
        self.settings, self.directory = settings, directory
        self._engine = open_store(settings.database_url)
        self._scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(
                engine=self._engine, tablename=ScheduledCrawl.__tablename__)},
            executors={"default": ThreadPoolExecutor(settings.crawl_workers)},
            # Missed runs (the scheduler was down) become one crawl, run however late.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC)
        self._scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)

    def open(self) -> dict[Path, Profile]:
        """Loads the profiles (a bad one at start is the operator's to fix: it raises) and the
        jobs, and makes them match; nothing runs until :meth:`run` resumes the scheduler."""
        files = load_profile_files(self.directory)
        self._scheduler.start(paused=True)
        self.sync(files)
        return files

    def close(self, wait: bool) -> None:
        """Stops the scheduler (``wait``: for the crawls running) and lets go of the store."""
        if self._scheduler.running:
            # Detached first: as it stops, APScheduler's thread looks for due jobs once more,
            # and would move a due job it can no longer run to its next time, skipping a run.
            self._scheduler.remove_jobstore("default")
            self._scheduler.shutdown(wait=wait)
        self._engine.dispose()

    def run(self, stop: threading.Event) -> None:
        """Crawls every profile on its schedule until ``stop`` is set; then asks the running
        crawls to stop and waits for them."""
        try:
            files = self.open()
            self._scheduler.resume()
            log.info("scheduling %d profiles from %s (%d at a time)", len(files),
                     self.directory, self.settings.crawl_workers)
            while not stop.wait(RESCAN_S):
                self._rescan()
        finally:
            if self._scheduler.running:
                self._scheduler.pause()
            stop_crawls()
            self.close(wait=True)

    def run_once(self) -> list[CrawlResult]:
        """Crawls the profiles that are due now, side by side, and sets their next run."""
        try:
            files = self.open()
            now = datetime.now(UTC)
            due = [job for job in self._scheduler.get_jobs()
                   if job.next_run_time is not None and job.next_run_time <= now]
            log.info("%d of %d profiles are due", len(due), len(files))
            with Pool(self.settings.crawl_workers) as pool:
                results = list(pool.map(lambda job: crawl_profile(*job.args), due))
            for job in due:
                following = job.trigger.get_next_fire_time(None, datetime.now(UTC))
                self._scheduler.modify_job(job.id, next_run_time=following)
            return results
        finally:
            self.close(wait=False)

    def sync(self, files: dict[Path, Profile]) -> None:
        """Makes the jobs match the profile files: new ones due now, changed ones re-timed,
        removed ones dropped; unchanged ones keep their next run time."""
        jobs = {job.id: job for job in self._scheduler.get_jobs()}
        now = datetime.now(UTC)
        for path, profile in files.items():
            # The path as listed, links not resolved: a Kubernetes ConfigMap's files link into a
            # directory renamed on every update, which would look like a changed profile.
            trigger, args = profile.schedule.trigger(profile.zone), [str(path.absolute())]
            job = jobs.pop(profile.id, None)
            if job is None:
                self._scheduler.add_job(crawl_profile, trigger, args=args, id=profile.id,
                                        name=profile.id, next_run_time=now)
                log.info("%s: new profile, crawled now, then %s", profile.id, trigger)
            elif _describe(job.trigger) != _describe(trigger) or list(job.args) != args:
                self._scheduler.modify_job(job.id, args=args)
                self._scheduler.reschedule_job(job.id, trigger=trigger)
                log.info("%s: schedule changed to %s", profile.id, trigger)
        for job_id in jobs:
            self._scheduler.remove_job(job_id)
            log.info("%s: its profile is gone; no longer scheduled", job_id)

    def jobs(self) -> list[Job]:
        return list(self._scheduler.get_jobs())

    def _rescan(self) -> None:
        try:
            self.sync(load_profile_files(self.directory))
        except ProfileError as error:
            log.error("profiles not reloaded, the schedule stays as it was: %s", error)

    @staticmethod
    def _skipped(event: JobSubmissionEvent) -> None:
        metrics.CRAWLS.labels(event.job_id, Outcome.SKIPPED).inc()


def _describe(trigger: object) -> tuple[str, str, object]:
    """What makes two triggers the same schedule (APScheduler's triggers have no equality)."""
    return type(trigger).__name__, str(trigger), getattr(trigger, "jitter", None)


def on_stop_signals(action: Callable[[], None]) -> None:
    """Runs ``action`` on SIGTERM (a supervisor's stop) and SIGINT (Ctrl-C)."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: action())
