"""Incremental crawls against the live demo site: a second crawl of an unchanged source sends
nothing and stops at the first page of known comments; comments the site publishes later are
sent by the next crawl, once each; a crawl that could not deliver to Kafka keeps nothing, so the
next one sends its comments again; a crawl killed halfway is resumed by the next one."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
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
from pipeline.store.crawls import crawl_resume
from pipeline.store.engine import make_engine
from tests.crawlers.command import yuqing
from tests.crawlers.topics import read_topic

pytestmark = pytest.mark.integration



@pytest.fixture
def site() -> Iterator[DemoSite]:
    """A live site: half its comments published at start, the rest when the test says."""
    comments = platform_comments()
    with DemoSite(comments, initial=len(comments) // 2) as running:
        yield running


def _profile(site: DemoSite, name: str, tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """A demo profile pointed at ``site``, with ``edits`` (old, new) made to its text."""
    return profile_copies(site.port, tmp_path, (name,), edits)[0]


def _crawl(settings: Settings, site: DemoSite, name: str, tmp_path: Path,
           *edits: tuple[str, str]) -> dict[str, object]:
    profile = _profile(site, name, tmp_path, *edits)
    done = yuqing(settings, "crawl", "--profile", str(profile))
    assert done.returncode == 0, done.stderr[-3000:]
    (summary,) = json.loads(done.stdout).values()
    return summary


def _sent(settings: Settings) -> list[str]:
    return [parse_record(message.value).id
            for message in read_topic(settings, settings.topic_comments)]


@pytest.mark.parametrize(("name", "source", "reach"), [
    ("demo-weibo.yaml", "demo-weibo", None), ("demo-shop.toml", "demo-shop", None),
    ("demo-feed.toml", "demo-feed", 60)])  # the feed profile reads the feed's first 3 pages
def test_each_comment_is_sent_once_over_crawls_of_a_live_site(
        settings: Settings, site: DemoSite, tmp_path: Path, name: str, source: str,
        reach: int | None) -> None:
    shown = sorted(site.published(source), key=lambda c: c.published_at, reverse=True)[:reach]
    first = _crawl(settings, site, name, tmp_path)
    assert first["produced"] == len(shown) > 0

    again = _crawl(settings, site, name, tmp_path)
    assert again["produced"] == 0
    if source == "demo-weibo":  # since_id: the API sends only what is newer, here nothing
        assert (again["pages"], again["items"]) == (1, 0)
    if reach is None:  # (the feed profile reads three fixed pages, no paging to stop)
        assert again["pages"] < first["pages"]

    fresh = site.publish(5, source=source)
    third = _crawl(settings, site, name, tmp_path)
    assert third["produced"] == len(fresh) == 5

    sent = _sent(settings)
    assert sorted(sent) == sorted(c.record_id for c in [*shown, *fresh])
    assert len(sent) == len(set(sent))


def test_a_crawl_that_could_not_deliver_keeps_nothing(
        settings: Settings, site: DemoSite, tmp_path: Path) -> None:
    unreachable = settings.model_copy(update={"kafka_delivery_timeout_s": 2})
    # A broker that is not there: every message fails; nothing may be remembered as sent.
    dead = unreachable.model_copy(update={"kafka_bootstrap": "127.0.0.1:9"})
    profile = _profile(site, "demo-weibo.yaml", tmp_path)
    failed = yuqing(dead, "crawl", "--profile", str(profile))
    assert failed.returncode != 0

    summary = _crawl(settings, site, "demo-weibo.yaml", tmp_path)
    assert summary["produced"] == len(site.published("demo-weibo"))


def test_profiles_are_not_crawled_into_a_store_without_the_schema(
        settings: Settings, site: DemoSite, tmp_path: Path) -> None:
    bare = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'bare.db'}"})
    profile = _profile(site, "demo-feed.toml", tmp_path)

    done = yuqing(bare, "crawl", "--profile", str(profile))

    assert done.returncode == 1
    assert done.stderr.strip().endswith("has no Yuqing tables: run `yuqing db upgrade`")


def test_a_crawl_killed_halfway_is_resumed_by_the_next(settings: Settings, tmp_path: Path) -> None:
    """Killed (SIGKILL, as the kernel's OOM killer or a lost machine would) once it is a few
    pages in, the crawl has saved what Kafka acknowledged and where its paging got to. The next
    crawl finds the first pages known, as they are, and would stop there; it reads on from where
    the killed one stopped, so every comment reaches Kafka. Sent twice are at most the comments
    acknowledged after the last save, which comes every second."""
    comments = platform_comments()
    small_pages = ("size: 100", "size: 10")
    with DemoSite(comments, delay_s=0.2) as site:
        shown = {c.record_id for c in site.published("demo-weibo")}
        profile = _profile(site, "demo-weibo.yaml", tmp_path, small_pages)
        killed = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "crawl", "--profile", str(profile)],
            env=child_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            resume_page = _wait_for_resume_point(settings, "demo-weibo", beyond=5, within_s=60)
            killed.send_signal(signal.SIGKILL)
        finally:
            killed.kill()
            killed.wait()
        first = _sent(settings)
        assert 0 < len(set(first)) < len(shown)

        resumed = _crawl(settings, site, "demo-weibo.yaml", tmp_path, small_pages)

    every = _sent(settings)
    assert set(every) == shown
    full_pages = -(-len(shown) // 10)
    assert resumed["pages"] <= 1 + full_pages - resume_page  # page 1, known; then from there on
    twice = len(every) - len(shown)
    assert twice < len(set(first)), "the resumed crawl sent everything again"
    assert twice <= 60  # what the 0.2 s pages of about one second's acknowledgements hold


def _wait_for_resume_point(settings: Settings, profile_id: str, beyond: int, within_s: float
                           ) -> int:
    """The page a crawl in progress has saved as its resume point, once it is past ``beyond``."""
    engine = make_engine(settings.database_url)
    deadline = time.monotonic() + within_s
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                pages = [point["page"] for point in crawl_resume(session, profile_id)]
            if pages and max(pages) > beyond:
                return max(pages)
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError(f"{profile_id}'s crawl saved no resume point past page {beyond}")
