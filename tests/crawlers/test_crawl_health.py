"""Crawl health: every profile crawl is a row in the store, and `yuqing crawls` shows it, with
the HTTP errors by status and the suspected bans of a source that fails (500s, a captcha wall);
a source that keeps failing or goes silent raises one crawl-health alert, which `yuqing sources`
shows, until a crawl shows it healthy again."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from devkit.demosite.comments import platform_comments
from devkit.demosite.server import DemoSite
from pipeline.config import Settings
from pipeline.store.engine import make_engine
from pipeline.store.models import OutboxNotice, SourceAlert
from tests.crawlers.command import yuqing
from tests.utils.paths import REPO_ROOT

pytestmark = pytest.mark.integration

PROFILE = REPO_ROOT / "devkit" / "demosite" / "profiles" / "demo-weibo.yaml"


@pytest.fixture
def site() -> Iterator[DemoSite]:
    """Live: the silence test publishes more later."""
    comments = platform_comments()
    with DemoSite(comments, initial=len(comments) // 2) as running:
        yield running


@pytest.fixture
def profile(site: DemoSite, tmp_path: Path) -> Path:
    path = tmp_path / PROFILE.name
    path.write_text(PROFILE.read_text().replace("http://127.0.0.1:8080",
                                                f"http://127.0.0.1:{site.port}"))
    return path


def _runs(settings: Settings) -> list[dict[str, object]]:
    done = yuqing(settings, "crawls", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_each_crawl_is_a_row_and_a_failing_source_shows_why(
        settings: Settings, site: DemoSite, profile: Path) -> None:
    good = yuqing(settings, "crawl", "--profile", str(profile))
    assert good.returncode == 0, good.stderr[-2000:]

    site.fail("/m/api", 500)
    failing = yuqing(settings, "crawl", "--profile", str(profile))
    assert failing.returncode == 1

    site.captcha("/m/api")
    walled = yuqing(settings, "crawl", "--profile", str(profile))
    assert "look like a ban" in walled.stderr

    walled_run, failed_run, good_run = _runs(settings)
    assert (good_run["ok"], good_run["new_items"], good_run["http_errors"]) \
        == (True, len(site.published("demo-weibo")), {})
    assert failed_run["ok"] is False
    assert failed_run["http_errors"] == {"500": 4}  # the first try and 3 retries
    assert failed_run["retries"] == 3
    assert walled_run["bans_suspected"] == 1
    assert walled_run["items"] == 0

    table = yuqing(settings, "crawls", "--source", "demo-weibo", "--limit", "2",
                   extra_env={"COLUMNS": "160"})
    assert "500×4" in table.stdout and "2 crawls" in table.stdout


def _source_alerts(settings: Settings) -> list[tuple[str, str, bool]]:
    with Session(make_engine(settings.database_url)) as session:
        return [(alert.profile_id, alert.kind, alert.resolved_at is None)
                for alert in session.scalars(select(SourceAlert).order_by(SourceAlert.id))]


def test_a_failing_source_raises_one_alert_and_yuqing_sources_shows_it(
        settings: Settings, site: DemoSite, profile: Path) -> None:
    assert yuqing(settings, "crawl", "--profile", str(profile)).returncode == 0
    site.fail("/m/api", 500)
    for _ in range(2):
        assert yuqing(settings, "crawl", "--profile", str(profile)).returncode == 1

    shown = yuqing(settings, "sources", "--profiles", str(profile.parent))
    assert shown.returncode == 1
    assert "demo-weibo: failing: 2 of its last 3 crawls went wrong" in shown.stderr
    assert _source_alerts(settings) == [("demo-weibo", "failing", True)]  # raised once
    with Session(make_engine(settings.database_url)) as session:  # and notified once
        notices = session.scalars(select(OutboxNotice)).all()
        alert_id = session.scalars(select(SourceAlert.id)).one()
        assert [(n.kind, n.key, n.source) for n in notices] == [
            ("crawl_health", f"crawl_health:{alert_id}", "demo-weibo")]
        assert notices[0].title == "Crawl health: source demo-weibo is failing"

    site.recover()
    for _ in range(3):  # 2 of the last 5 wrong: below the profile's 50 %
        assert yuqing(settings, "crawl", "--profile", str(profile)).returncode == 0
    assert _source_alerts(settings) == [("demo-weibo", "failing", False)]
    assert yuqing(settings, "sources", "--profiles", str(profile.parent)).returncode == 0


def test_a_source_with_nothing_new_for_too_long_is_silent_until_it_yields_again(
        settings: Settings, site: DemoSite, profile: Path) -> None:
    profile.write_text(profile.read_text().replace("max_silence: 2h", "max_silence: 4s"))
    assert yuqing(settings, "crawl", "--profile", str(profile)).returncode == 0
    time.sleep(4.5)
    for _ in range(2):  # nothing new, twice: one alert
        assert yuqing(settings, "crawl", "--profile", str(profile)).returncode == 0
    assert _source_alerts(settings) == [("demo-weibo", "silent", True)]

    site.publish(3, source="demo-weibo")
    assert yuqing(settings, "crawl", "--profile", str(profile)).returncode == 0
    assert _source_alerts(settings) == [("demo-weibo", "silent", False)]
