"""Incremental crawls against the live demo site: a second crawl of an unchanged source sends
nothing and stops at the first page of known comments; comments the site publishes later are
sent by the next crawl, once each; a crawl that could not deliver to Kafka keeps nothing, so the
next one sends its comments again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.demosite.comments import platform_comments
from devkit.demosite.server import DemoSite
from pipeline.config import Settings
from pipeline.records import parse_record
from tests.crawlers.command import yuqing
from tests.crawlers.topics import read_topic
from tests.utils.paths import REPO_ROOT

pytestmark = pytest.mark.integration

PROFILES = REPO_ROOT / "devkit" / "demosite" / "profiles"


@pytest.fixture
def site() -> Iterator[DemoSite]:
    """A live site: half its comments published at start, the rest when the test says."""
    comments = platform_comments()
    with DemoSite(comments, initial=len(comments) // 2) as running:
        yield running


def _crawl(settings: Settings, site: DemoSite, name: str, tmp_path: Path) -> dict[str, object]:
    profile = tmp_path / name
    profile.write_text((PROFILES / name).read_text().replace(
        "http://127.0.0.1:8080", f"http://127.0.0.1:{site.port}"))
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
    profile = tmp_path / "demo-weibo.yaml"
    profile.write_text((PROFILES / "demo-weibo.yaml").read_text().replace(
        "http://127.0.0.1:8080", f"http://127.0.0.1:{site.port}"))
    failed = yuqing(dead, "crawl", "--profile", str(profile))
    assert failed.returncode != 0

    summary = _crawl(settings, site, "demo-weibo.yaml", tmp_path)
    assert summary["produced"] == len(site.published("demo-weibo"))


def test_profiles_are_not_crawled_into_a_store_without_the_schema(
        settings: Settings, site: DemoSite, tmp_path: Path) -> None:
    bare = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'bare.db'}"})
    profile = tmp_path / "demo-feed.toml"
    profile.write_text((PROFILES / "demo-feed.toml").read_text())

    done = yuqing(bare, "crawl", "--profile", str(profile))

    assert done.returncode == 1
    assert done.stderr.strip().endswith("has no Yuqing tables: run `yuqing db upgrade`")
