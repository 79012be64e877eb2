"""``yuqing demo``: the whole product once, on the embedded defaults, with nothing to set up.

Prepares what an operator would prepare once (the store's schema, the corrector's LM artifact),
starts the embedded broker and the demo site on loopback with the held-out reviews dealt over
all six of its sources (review pages, a cursor API, a Weibo-like API, a shop's review API, a
forum and an RSS feed), crawls them in one ``yuqing crawl`` process with the two hand-written
spiders and the four shipped site profiles, runs the streaming job until the topic is drained,
and reports what happened. Every process it starts is stopped again, also when a step fails.

The demo is a one-shot run of the whole site, but profile crawls are incremental: they skip
what earlier crawls saw, kept in the store. So the demo first forgets what earlier crawls of its
profiles saw; otherwise a second ``yuqing demo`` on the same store would send nothing.

The report is honest about reach: ``served`` counts the comments the site shows, ``crawled``
those the crawl produced, and a source that read fewer says why (the feed profile reads only
the feed's first three pages, the newest 60 items, as a scheduled crawl of a news feed would).
The profiles are copies pointed at the site's port; a smaller site (``limit``) whose feed has
fewer than three pages gets a feed profile asking only for those, since a page past a feed's
end is a 404 that would fail the crawl.
"""

from __future__ import annotations

import json
import logging
import math
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crawlers.profiles import Profile, load_profile
from crawlers.spiders.demo_api import SOURCE as API_SOURCE
from crawlers.spiders.demo_reviews import SOURCE as HTML_SOURCE
from devkit.child import child_env
from devkit.demosite.comments import FEED_SOURCE, DemoComment, platform_comments
from devkit.demosite.feed import FEED_PAGE_SIZE
from devkit.demosite.server import DemoSite
from devkit.demosite.site_profiles import profile_copies
from models.corrector.build import build_lm
from pipeline.broker import EmbeddedBroker
from pipeline.config import Settings
from pipeline.kafka import ensure_topics
from pipeline.store.crawls import forget_crawl_state
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import Alert
from pipeline.store.queries import select_alerts
from pipeline.stream.run import RunSummary
from pipeline.stream.run import run as run_pipeline
from pipeline.text.resources import lm_dir

log = logging.getLogger(__name__)

# The hand-written spiders and the source each reads; the four profiles' ids are their sources.
SPIDERS = {"demo_reviews": HTML_SOURCE, "demo_api": API_SOURCE}
# Brands the held-out reviews really mention, watched when the operator configured none.
DEMO_KEYWORDS = ["携程", "当当", "京东", "联想", "华硕", "三星", "如家"]
CRAWL_TIMEOUT_S = 300
FEED_PAGE = re.compile(r"[?&]paged=(\d+)")


@dataclass(frozen=True)
class SourceCount:
    """One source of the demo site: what it shows, what the crawl produced, and why fewer."""

    served: int
    crawled: int
    why_fewer: str | None = None


@dataclass(frozen=True)
class DemoReport:
    served: int
    crawled: int
    sources: dict[str, SourceCount]
    pipeline: RunSummary
    alerts_stored: int
    seconds: float
    top_alerts: list[Alert]

    @property
    def fewer(self) -> dict[str, SourceCount]:
        """The sources whose crawl produced fewer comments than the site shows."""
        return {source: count for source, count in self.sources.items()
                if count.crawled < count.served}


def reach(profile: Profile) -> str | None:
    """Why a profile's crawl may legitimately produce fewer comments than its source shows:
    one that neither pages nor follows a listing reads its start URLs and nothing more."""
    if profile.paging.kind == "none" and profile.listing is None:
        pages = len(profile.urls())
        return f"its profile reads only its {pages} start page{'s' if pages != 1 else ''}"
    return None


def count_sources(comments: Sequence[DemoComment], summary: Mapping[str, Mapping[str, Any]],
                  profiles: Sequence[Profile], crawl_log: Path) -> dict[str, SourceCount]:
    """Served and crawled per source, from the site's comments and ``yuqing crawl``'s summary
    (keyed by spider name or profile id)."""
    served = Counter(comment.source for comment in comments)
    source_of = {**SPIDERS, **{profile.id: profile.id for profile in profiles}}
    crawled = Counter({source_of[name]: result["produced"] for name, result in summary.items()})
    notes = {profile.id: reach(profile) for profile in profiles}
    counts = {}
    for source in sorted(served.keys() | crawled.keys()):
        fewer = crawled[source] < served[source]
        why = (notes.get(source) or f"see {crawl_log}") if fewer else None
        counts[source] = SourceCount(served[source], crawled[source], why)
    return counts


def fit_feed_pages(profile: Path, feed_items: int) -> None:
    """Drop the feed profile's start URLs for pages past the feed's end. A feed answers 404 for
    those (as WordPress does), which fails the crawl; only a demo serving fewer comments
    (``limit``) than the profile's three pages has such a short feed."""
    pages = max(1, math.ceil(feed_items / FEED_PAGE_SIZE))
    lines = profile.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines
            if not ((page := FEED_PAGE.search(line)) and int(page[1]) > pages)]
    if len(kept) < len(lines):
        log.info("the feed has %d page%s at this size; the demo's feed profile reads only those",
                 pages, "s" if pages != 1 else "")
        profile.write_text("".join(kept), encoding="utf-8")


def crawl_in_subprocess(settings: Settings, base_url: str, profiles: Sequence[Path],
                        log_path: Path) -> dict[str, dict[str, Any]]:
    """Both spiders and every profile through one ``yuqing crawl`` (Twisted's reactor runs once
    per process); its summary, keyed by spider name or profile id."""
    command = [sys.executable, "-m", "pipeline", "crawl", *SPIDERS, "--base-url", base_url]
    for profile in profiles:
        command += ["--profile", str(profile)]
    with log_path.open("w") as stderr:
        done = subprocess.run(command, env=child_env(settings), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=stderr, text=True,
                              timeout=CRAWL_TIMEOUT_S, check=False)
    if done.returncode:
        raise RuntimeError(f"crawl failed (exit {done.returncode}); see {log_path}")
    summary: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return summary


def forget_demo_crawls(settings: Settings, profiles: Sequence[Profile]) -> None:
    """Make the profiles' crawls read the whole site again, as a one-shot demo must: without
    this a second demo on the same store would find every comment known and send nothing."""
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session, session.begin():
            forgotten = {profile.id: forget_crawl_state(session, profile.id)
                         for profile in profiles}
    finally:
        engine.dispose()
    if any(forgotten.values()):
        log.info("forgot what earlier crawls of the demo profiles saw (%s), so this crawl "
                 "reads the whole site again",
                 ", ".join(f"{profile}: {seen} comments" for profile, seen in forgotten.items()))


def prepare(settings: Settings) -> None:
    """The one-time set-up `yuqing db upgrade` and `yuqing build corrector-lm` do."""
    upgrade(settings.database_url)
    if settings.correct_text and not lm_dir(settings).exists():
        log.info("building the corrector's language model (about a minute, once)")
        build_lm(lm_dir(settings))


def run_demo(settings: Settings, *, limit: int | None = None, top: int = 10,
             idle_stop_s: float = 3.0) -> DemoReport:
    """The demo, start to end; ``limit`` serves only the first comments of the six-source deal
    (:func:`devkit.demosite.comments.platform_comments`)."""
    started = time.monotonic()
    work = settings.data_dir / "demo"
    (work / "profiles").mkdir(parents=True, exist_ok=True)
    prepare(settings)
    comments = platform_comments(limit)
    with EmbeddedBroker(log_path=work / "broker.log") as broker, DemoSite(comments) as site:
        settings = settings.model_copy(update={"kafka_bootstrap": broker.bootstrap,
                                               "keywords": settings.keywords or DEMO_KEYWORDS})
        ensure_topics(settings)
        log.info("demo site with %d comments on %s", len(comments), site.base_url)
        paths = profile_copies(site.port, work / "profiles")
        fit_feed_pages(next(path for path in paths if path.stem == FEED_SOURCE),
                       sum(comment.source == FEED_SOURCE for comment in comments))
        profiles = [load_profile(path) for path in paths]
        forget_demo_crawls(settings, profiles)
        summary = crawl_in_subprocess(settings, site.base_url, paths, work / "crawl.log")
        sources = count_sources(comments, summary, profiles, work / "crawl.log")
        crawled = sum(count.crawled for count in sources.values())
        log.info("crawled %d of the %d comments served into Kafka; starting the pipeline",
                 crawled, len(comments))
        for source, count in sources.items():
            if count.why_fewer:
                log.info("%s: crawled %d of the %d it serves: %s", source, count.crawled,
                         count.served, count.why_fewer)
        run = run_pipeline([f"--until-idle={idle_stop_s}"], settings)
    with Session(make_engine(settings.database_url)) as session:
        alerts = list(select_alerts(session, limit=top))
        stored = session.query(Alert).filter(
            Alert.comment_id.in_([c.record_id for c in comments])).count()
    return DemoReport(served=len(comments), crawled=crawled, sources=sources, pipeline=run,
                      alerts_stored=stored, seconds=round(time.monotonic() - started, 1),
                      top_alerts=alerts)
