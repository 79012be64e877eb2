"""The generic spider against the demo site's four platforms, one shipped profile each: a
Weibo-like JSON API paged by max_id, a shop's review API with numbered pages per product, a forum
of threads with nested replies (HTML, XPath), and an RSS feed. Each crawl must deliver every
comment the platform shows exactly once, with its date read in the profile's time zone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from devkit.demosite.comments import CHINA_TZ, platform_comments
from devkit.demosite.server import DemoSite
from pipeline.config import Settings
from pipeline.records import parse_record
from tests.crawlers.command import yuqing
from tests.crawlers.topics import read_topic
from tests.utils.paths import REPO_ROOT

pytestmark = pytest.mark.integration

PROFILES = REPO_ROOT / "devkit" / "demosite" / "profiles"
PROFILE_SITE = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    """On the real clock: relative dates (3分钟前) are relative to the crawl's own clock."""
    with DemoSite(platform_comments(now=datetime.now(CHINA_TZ))) as running:
        yield running


def _profile_for(site: DemoSite, name: str, tmp_path: Path) -> Path:
    """The shipped profile, pointed at this test's site (the profiles name the default port)."""
    shipped = PROFILES / name
    copy = tmp_path / name
    copy.write_text(shipped.read_text().replace(PROFILE_SITE, f"http://127.0.0.1:{site.port}"))
    return copy


@pytest.mark.parametrize(("name", "source", "date_precision"), [
    ("demo-weibo.yaml", "demo-weibo", timedelta(days=1)),
    ("demo-shop.toml", "demo-shop", timedelta(seconds=1)),
    ("demo-forum.yaml", "demo-forum", timedelta(minutes=1)),
    ("demo-feed.toml", "demo-feed", timedelta(seconds=1)),
])
def test_each_demo_profile_delivers_every_comment_once_with_its_date(
        settings: Settings, site: DemoSite, tmp_path: Path, name: str, source: str,
        date_precision: timedelta) -> None:
    done = yuqing(settings, "crawl", "--profile", str(_profile_for(site, name, tmp_path)))
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)[source]
    shown = site.published(source)
    if source == "demo-feed":  # the profile reads the feed's first three pages
        shown = sorted(shown, key=lambda comment: comment.published_at, reverse=True)[:60]

    records = [parse_record(message.value)
               for message in read_topic(settings, settings.topic_comments)]
    assert sorted(record.id for record in records) == sorted(c.record_id for c in shown)
    assert (summary["produced"], summary["dead_letters"], summary["undated"]) \
        == (len(shown), 0, 0)
    published = {comment.record_id: comment.published_at for comment in shown}
    for record in records:
        assert record.published_at is not None
        # Relative and minute-precision dates lose what the site did not show.
        assert abs(record.published_at - published[record.id]) <= date_precision, record
