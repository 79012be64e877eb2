"""``yuqing bench crawl``: how fast the profile-driven crawler reads the bundled demo site.

The four demo profiles (Weibo-like API, shop API, forum, RSS feed) crawl the demo site as an
operator runs them: ``yuqing crawl --profile …`` in a fresh process (Twisted's reactor runs once
per process), all four side by side, producing to an embedded broker and remembering what they
saw in a fresh SQLite store. Each round crawls twice:

- **first**: a fresh store, so every comment within a profile's reach is new and sent;
- **again**: the unchanged site on the same store, so nothing is sent and paging stops at the
  first page of known comments: the saving that incremental crawling buys.

A profile's time is its own Scrapy crawl, from the summary's ``started_at`` to ``finished_at``,
so Python's and Scrapy's start-up are not in it; the process's wall time, start-up and the
summary's store writes included, is reported once per crawl.

The profiles keep the project's Scrapy settings and their own politeness (no download delay,
two requests at a time per profile), as a deployed crawl would, so the figures are the crawler's
pace against the site, not the CPU's. AutoThrottle starts at the profile's delay and raises it
while the site answers slowly; ``delay_s`` slows the site's every response, as a distant site
would.
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from devkit.bench.workdir import BenchDir
from devkit.child import child_env
from devkit.demosite.comments import platform_comments
from devkit.demosite.server import DemoSite
from devkit.demosite.site_profiles import profile_copies
from pipeline.broker import EmbeddedBroker, die_with_parent_hook
from pipeline.config import Settings
from pipeline.errors import OperatorError
from pipeline.kafka import ensure_topics
from pipeline.store.migrations import upgrade

log = logging.getLogger(__name__)

TOTAL = "total"
PASSES = ("first", "again")


class CrawlBenchError(OperatorError):
    """A crawl could not be measured; the message says which and why."""


@dataclass(frozen=True)
class CrawlFigures:
    """One profile's crawl (or all of them together, ``total``) in one pass of one round."""

    pages: int  # responses received: the requests the crawl made
    produced: int  # comments sent to Kafka
    seconds: float  # the Scrapy crawl itself: the summary's started_at to finished_at

    @property
    def requests_per_s(self) -> float:
        return self.pages / max(self.seconds, 1e-9)

    @property
    def comments_per_s(self) -> float:
        return self.produced / max(self.seconds, 1e-9)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"requests_per_s": round(self.requests_per_s, 1),
                               "comments_per_s": round(self.comments_per_s, 1)}


@dataclass(frozen=True)
class Crawl:
    """One ``yuqing crawl`` process: a figure per profile and for all of them together."""

    figures: dict[str, CrawlFigures]
    wall_s: float  # the process, from spawn to exit: start-up and the summary's writes included
    ok: bool


def figures_of(summary: dict[str, dict[str, Any]]) -> dict[str, CrawlFigures]:
    """Each profile's figures from ``yuqing crawl``'s summary, and the total: the profiles ran
    side by side, so its time runs from the first start to the last finish."""
    figures, spans = {}, []
    for profile, result in summary.items():
        span = (datetime.fromisoformat(result["started_at"]),
                datetime.fromisoformat(result["finished_at"]))
        spans.append(span)
        figures[profile] = CrawlFigures(result["pages"], result["produced"],
                                        round((span[1] - span[0]).total_seconds(), 3))
    seconds = (max(end for _, end in spans) - min(start for start, _ in spans)).total_seconds()
    figures[TOTAL] = CrawlFigures(sum(f.pages for f in figures.values()),
                                  sum(f.produced for f in figures.values()), round(seconds, 3))
    return figures


def crawl(settings: Settings, profiles: Sequence[Path], log_path: Path,
          timeout_s: float) -> Crawl:
    """Every profile in one ``yuqing crawl`` process, timed from spawn to exit."""
    args = [sys.executable, "-m", "pipeline", "crawl"]
    for profile in profiles:
        args += ["--profile", str(profile)]
    with log_path.open("wb") as err:
        started = time.monotonic()
        try:
            done = subprocess.run(args, env=child_env(settings), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=err, timeout=timeout_s,
                                  preexec_fn=die_with_parent_hook(), check=False)
        except subprocess.TimeoutExpired:
            raise CrawlBenchError(f"the crawl ran past {timeout_s:g} s; see {log_path}"
                                  ) from None
        wall_s = time.monotonic() - started
    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise CrawlBenchError(f"the crawl exited with {done.returncode} and printed no summary;"
                              f" see {log_path}") from None
    ok = done.returncode == 0 and all(result["ok"] for result in summary.values())
    return Crawl(figures_of(summary), round(wall_s, 3), ok)


def run_round(settings: Settings, profiles: Sequence[Path], work_dir: Path, number: int,
              timeout_s: float) -> dict[str, Crawl]:
    """A first crawl into a fresh store, then a re-crawl of the unchanged site on it."""
    store = settings.model_copy(update={
        "database_url": f"sqlite:///{work_dir / f'round-{number}.db'}"})
    upgrade(store.database_url)
    crawls = {}
    for name in PASSES:
        crawls[name] = crawl(store, profiles, work_dir / f"round-{number}-{name}.log", timeout_s)
        total = crawls[name].figures[TOTAL]
        log.info("round %d, %s crawl: %d pages, %d comments in %.2f s (process %.1f s)", number,
                 name, total.pages, total.produced, total.seconds, crawls[name].wall_s)
    return crawls


def spread(values: Sequence[float]) -> dict[str, float]:
    return {"min": min(values), "median": round(statistics.median(values), 3),
            "max": max(values)}


def _passed(crawls: dict[str, Crawl]) -> bool:
    """Both crawls went well, the first sent something from every profile, the second
    nothing."""
    first, again = crawls["first"], crawls["again"]
    return (first.ok and again.ok and again.figures[TOTAL].produced == 0
            and all(figures.produced for figures in first.figures.values()))


def run(settings: Settings, rounds: int = 3, delay_s: float = 0.0, comments: int | None = None,
        timeout_s: float = 600.0) -> dict[str, Any]:
    """``rounds`` rounds on one demo site and one embedded broker; ``comments`` limits the site
    (default: the whole test split, dealt over six platforms, four of them crawled)."""
    with BenchDir("yuqing-crawl-") as work:
        site_comments = platform_comments(comments)
        with EmbeddedBroker(log_path=work.path / "broker.log") as broker, \
                DemoSite(site_comments, delay_s=delay_s) as site:
            bench = settings.model_copy(update={"kafka_bootstrap": broker.bootstrap,
                                                "data_dir": work.path})
            ensure_topics(bench)
            profiles = profile_copies(site.port, work.path)
            results = [run_round(bench, profiles, work.path, number, timeout_s)
                       for number in range(1, rounds + 1)]
            published = {path.stem: len(site.published(path.stem)) for path in profiles}
        work.passed = all(_passed(crawls) for crawls in results)
    return {"ok": work.passed, "rounds": rounds, "delay_s": delay_s, "published": published,
            "summary": _summary(results), "runs": [
                {name: {"wall_s": done.wall_s, "ok": done.ok,
                        "profiles": {p: f.as_dict() for p, f in done.figures.items()}}
                 for name, done in crawls.items()} for crawls in results]}


def _summary(results: Sequence[dict[str, Crawl]]) -> dict[str, Any]:
    """Min, median and max over the rounds of every figure, per pass and profile."""
    summary: dict[str, Any] = {}
    for name in PASSES:
        done = [crawls[name] for crawls in results]
        profiles = {
            profile: {key: spread([one.figures[profile].as_dict()[key] for one in done])
                      for key in ("pages", "produced", "seconds", "requests_per_s",
                                  "comments_per_s")}
            for profile in done[0].figures}
        summary[name] = {"wall_s": spread([one.wall_s for one in done]), "profiles": profiles}
    return summary


def _cell(spread: dict[str, float]) -> str:
    """One figure, or min / median / max where the rounds differ."""
    if spread["min"] == spread["max"]:
        return f"{spread['min']:g}"
    return f"{spread['min']:g} / {spread['median']:g} / {spread['max']:g}"


def table(result: dict[str, Any]) -> str:
    first, again = result["summary"]["first"], result["summary"]["again"]
    lines = ["| profile | on the site | pages | comments | crawl (s) | requests/s | comments/s "
             "| process (s) | re-crawl pages | re-crawl comments | re-crawl (s) | "
             "re-crawl process (s) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
             "---:|"]
    for profile, row in first["profiles"].items():
        other = again["profiles"][profile]
        total = profile == TOTAL
        on_site = sum(result["published"].values()) if total else result["published"][profile]
        lines.append(
            f"| {profile} | {on_site} | {_cell(row['pages'])} | {_cell(row['produced'])} | "
            f"{_cell(row['seconds'])} | {_cell(row['requests_per_s'])} | "
            f"{_cell(row['comments_per_s'])} | {_cell(first['wall_s']) if total else ''} | "
            f"{_cell(other['pages'])} | {_cell(other['produced'])} | {_cell(other['seconds'])} |"
            f" {_cell(again['wall_s']) if total else ''} |")
    if result["rounds"] > 1:
        lines.append(f"\nWhere rounds differ: min / median / max over {result['rounds']} rounds.")
    return "\n".join(lines)
