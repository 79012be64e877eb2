"""``yuqing schedule`` against the live demo site: several cycles of every profile, each new
comment in Kafka exactly once, an unchanged source sending nothing, a banned source and one
stuck in a redirect loop failing in ``yuqing sources`` with crawl-health alerts while the others
go on (500s: ``test_crawl_health.py``), ``--once`` for cron, and a
crawl past its timeout stopped, recorded and resumed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from devkit.child import child_env
from devkit.demosite.comments import platform_comments
from devkit.demosite.server import DemoSite
from devkit.demosite.site_profiles import profile_copies
from pipeline.config import Settings
from pipeline.records import parse_record
from pipeline.store.crawls import open_source_alerts, select_crawl_runs
from pipeline.store.engine import make_engine
from pipeline.store.models import CrawlRun, SourceAlert
from tests.crawlers.command import yuqing
from tests.crawlers.topics import read_topic

pytestmark = pytest.mark.integration

WEIBO, SHOP, FORUM, FEED = "demo-weibo", "demo-shop", "demo-forum", "demo-feed"
EVERY_2S = [("every: 5m", "every: 2s"), ("jitter: 30s", "jitter: 1s"),
            ("every: 30m", "every: 2s"), ('cron = "*/15 * * * *"', 'every = "2s"'),
            ('every = "10m"', 'every = "2s"')]


@pytest.fixture
def site() -> Iterator[DemoSite]:
    """Half the comments published at start; the test publishes more."""
    comments = platform_comments()
    with DemoSite(comments, initial=len(comments) // 2) as running:
        yield running


def _sent(settings: Settings) -> Counter[str]:
    return Counter(parse_record(message.value).id
                   for message in read_topic(settings, settings.topic_comments))


def _runs(settings: Settings, profile_id: str) -> list[CrawlRun]:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return list(reversed(select_crawl_runs(session, profile_id, limit=1000)))
    finally:
        engine.dispose()


def _alerts(settings: Settings) -> list[SourceAlert]:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return list(open_source_alerts(session))
    finally:
        engine.dispose()


def test_scheduled_crawls_send_each_new_comment_once_and_survive_failing_sources(
        settings: Settings, site: DemoSite, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    profile_copies(site.port, profiles, ("demo-weibo.yaml", "demo-shop.toml", "demo-forum.yaml",
                                         "demo-feed.toml"), EVERY_2S)
    site.captcha("/forum/")  # the forum walls every page from the start
    site.redirect_loop("/feed.xml")  # the feed sends the crawler round in circles
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "schedule", "--profiles", str(profiles)],
        env=child_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        published = []
        deadline = time.monotonic() + 90
        while len(_runs(settings, WEIBO)) < 4 and time.monotonic() < deadline:
            published += site.publish(4, source=WEIBO)
            time.sleep(1.5)
        # A whole cycle of each source after the last comment was published (the first to
        # finish may have started before).
        settled = {p: len(_runs(settings, p)) + 2 for p in (WEIBO, SHOP)}
        while (any(len(_runs(settings, p)) < n for p, n in settled.items())
               and time.monotonic() < deadline):
            time.sleep(0.5)
        scheduler.send_signal(signal.SIGTERM)
        _, log = scheduler.communicate(timeout=60)
    finally:
        scheduler.kill()
    assert scheduler.returncode == 0, log[-3000:]

    weibo, shop, forum, feed = (_runs(settings, p) for p in (WEIBO, SHOP, FORUM, FEED))
    assert len(weibo) >= 4 and len(shop) >= 3 and len(forum) >= 3 and len(feed) >= 3, log[-3000:]
    # (the stop may interrupt the last crawls: they save where they got to, and are not ok)
    assert published and all(run.ok for run in weibo[:-1] + shop[:-1]), log[-3000:]
    sent = _sent(settings)
    assert max(sent.values()) == 1  # nothing sent twice
    assert set(sent) == {c.record_id for c in site.published(WEIBO) + site.published(SHOP)}
    assert [run.new_items for run in shop[1:]] == [0] * (len(shop) - 1)  # unchanged: nothing
    assert sum(run.new_items for run in weibo) == len(site.published(WEIBO))
    assert sum(bool(run.new_items) for run in weibo[1:]) >= 2  # later cycles found new ones

    assert not any(run.ok for run in forum) and all(run.bans_suspected for run in forum[:-1])
    assert not any(run.ok for run in feed) and all(
        run.finish_reason == "finished" and run.items == 0 for run in feed[:-1])
    alerts = sorted((a.profile_id, a.kind) for a in _alerts(settings))
    assert alerts == [(FEED, "failing"), (FORUM, "failing")]
    sources = yuqing(settings, "sources", "--profiles", str(profiles))
    assert sources.returncode == 1  # open crawl-health alerts
    assert f"{FORUM}: failing" in sources.stderr and f"{FEED}: failing" in sources.stderr


def test_once_crawls_what_is_due_and_a_crawl_past_its_timeout_is_stopped_and_resumed(
        settings: Settings, tmp_path: Path) -> None:
    """``--once`` is cron's scheduler: the first run finds the new profile due, the next, soon
    after, finds it not due. A crawl that outlasts YUQING_CRAWL_TIMEOUT_S is asked to stop; it
    saves where it got to, its run is recorded as not ok, and the next crawl finishes the
    source without sending anything twice."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    small_pages = [("size: 100", "size: 10"), ("every: 5m", "every: 1h"), ("jitter: 30s", "")]
    with DemoSite(platform_comments(), delay_s=0.3) as site:
        profile_copies(site.port, profiles, ("demo-weibo.yaml",), small_pages)
        stopped = yuqing(settings, "schedule", "--once", "--profiles", str(profiles),
                         extra_env={"YUQING_CRAWL_TIMEOUT_S": "4"})
        assert stopped.returncode == 1, stopped.stderr[-3000:]
        result = json.loads(stopped.stdout)[WEIBO]
        assert result["outcome"] == "failed"
        assert "stopped after the crawl timeout of 4 s" in result["detail"]
        assert 0 < result["produced"] < len(site.published(WEIBO))

        not_due = yuqing(settings, "schedule", "--once", "--profiles", str(profiles))
        assert not_due.returncode == 0 and json.loads(not_due.stdout) == {}

        finished = yuqing(settings, "crawl", "--profile", str(profiles / "demo-weibo.yaml"))
        assert finished.returncode == 0, finished.stderr[-3000:]

        sent = _sent(settings)
        assert set(sent) == {c.record_id for c in site.published(WEIBO)}
        assert max(sent.values()) == 1  # stopped gracefully: everything it sent was saved
    first, second = _runs(settings, WEIBO)
    assert (first.ok, first.finish_reason) == (False, "shutdown")
    assert second.ok and second.new_items == len(sent) - first.new_items


def test_once_stopped_by_sigterm_stops_its_crawls_and_exits(
        settings: Settings, tmp_path: Path) -> None:
    """A CronJob's pod is stopped with SIGTERM to ``yuqing schedule --once`` alone (its crawls
    run in their own process groups): the crawls are asked to stop, save where they got to and
    are recorded, and the command exits within seconds rather than at the crawl timeout."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    with DemoSite(platform_comments(), delay_s=0.3) as site:
        profile_copies(site.port, profiles, ("demo-weibo.yaml",), [("size: 100", "size: 10")])
        once = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "schedule", "--once", "--profiles", str(profiles)],
            env=child_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not _sent_any(settings) and time.monotonic() < deadline:
                time.sleep(0.5)
            stopped_at = time.monotonic()
            once.send_signal(signal.SIGTERM)
            output, log = once.communicate(timeout=60)
        finally:
            once.kill()
    assert time.monotonic() - stopped_at < 20, log[-3000:]
    assert once.returncode == 1, log[-3000:]  # the crawl did not finish
    assert json.loads(output)[WEIBO]["outcome"] == "failed"
    (run,) = _runs(settings, WEIBO)
    assert (run.ok, run.finish_reason) == (False, "shutdown")
    assert 0 < run.new_items < len(site.published(WEIBO))


def _sent_any(settings: Settings) -> bool:
    try:
        return bool(read_topic(settings, settings.topic_comments, timeout_s=2))
    except TimeoutError:
        return False
