"""``yuqing demo``: the whole product once, on the embedded defaults, with nothing to set up.

Prepares what an operator would prepare once (the store's schema, the corrector's LM artifact),
starts the embedded broker and the demo review site on loopback, crawls the site with the real
spiders, runs the streaming job until the topic is drained, and reports what happened. Every
process it starts is stopped again, also when a step fails.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from devkit.demosite.comments import demo_comments
from devkit.demosite.server import DemoSite
from models.corrector.build import build_lm
from pipeline.broker import EmbeddedBroker
from pipeline.config import Settings
from pipeline.kafka import ensure_topics
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import Alert
from pipeline.store.queries import select_alerts
from pipeline.stream.run import RunSummary
from pipeline.stream.run import run as run_pipeline
from pipeline.text.resources import lm_dir

log = logging.getLogger(__name__)

SPIDERS = ("demo_reviews", "demo_api")
# Brands the held-out reviews really mention, watched when the operator configured none.
DEMO_KEYWORDS = ["携程", "当当", "京东", "联想", "华硕", "三星", "如家"]
CRAWL_TIMEOUT_S = 300


@dataclass(frozen=True)
class DemoReport:
    served: int
    crawled: int
    pipeline: RunSummary
    alerts_stored: int
    seconds: float
    top_alerts: list[Alert]


def crawl_in_subprocess(settings: Settings, base_url: str, log_path: Path) -> int:
    """Run both spiders through ``yuqing crawl`` (Twisted's reactor runs once per process)."""
    env = {**os.environ, "YUQING_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "YUQING_TOPIC_COMMENTS": settings.topic_comments,
           "YUQING_TOPIC_DEAD_LETTERS": settings.topic_dead_letters}
    command = [sys.executable, "-m", "pipeline", "crawl", *SPIDERS, "--base-url", base_url]
    with log_path.open("w") as stderr:
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
                              timeout=CRAWL_TIMEOUT_S, check=False)
    if done.returncode:
        raise RuntimeError(f"crawl failed (exit {done.returncode}); see {log_path}")
    summary = json.loads(done.stdout)
    return sum(spider["produced"] for spider in summary.values())


def prepare(settings: Settings) -> None:
    """The one-time set-up `yuqing db upgrade` and `yuqing build corrector-lm` do."""
    upgrade(settings.database_url)
    if settings.correct_text and not lm_dir(settings).exists():
        log.info("building the corrector's language model (about a minute, once)")
        build_lm(lm_dir(settings))


def run_demo(settings: Settings, *, limit: int | None = None, top: int = 10,
             idle_stop_s: float = 3.0) -> DemoReport:
    started = time.monotonic()
    logs = settings.data_dir / "demo"
    logs.mkdir(parents=True, exist_ok=True)
    prepare(settings)
    comments = demo_comments(limit)
    with EmbeddedBroker(log_path=logs / "broker.log") as broker, DemoSite(comments) as site:
        settings = settings.model_copy(update={"kafka_bootstrap": broker.bootstrap,
                                               "keywords": settings.keywords or DEMO_KEYWORDS})
        ensure_topics(settings)
        log.info("demo site with %d comments on %s", len(comments), site.base_url)
        crawled = crawl_in_subprocess(settings, site.base_url, logs / "crawl.log")
        log.info("crawled %d comments into Kafka; starting the pipeline", crawled)
        summary = run_pipeline([f"--until-idle={idle_stop_s}"], settings)
    with Session(make_engine(settings.database_url)) as session:
        alerts = list(select_alerts(session, limit=top))
        stored = session.query(Alert).filter(
            Alert.comment_id.in_([c.record_id for c in comments])).count()
    return DemoReport(served=len(comments), crawled=crawled, pipeline=summary,
                      alerts_stored=stored, seconds=round(time.monotonic() - started, 1),
                      top_alerts=alerts)
