"""Crawl health: every profile crawl is a row in the store, and `yuqing crawls` shows it, with
the HTTP errors by status and the suspected bans of a source that fails (500s, a captcha wall)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.demosite.comments import platform_comments
from devkit.demosite.server import DemoSite
from pipeline.config import Settings
from tests.crawlers.command import yuqing
from tests.utils.paths import REPO_ROOT

pytestmark = pytest.mark.integration

PROFILE = REPO_ROOT / "devkit" / "demosite" / "profiles" / "demo-weibo.yaml"


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with DemoSite(platform_comments()) as running:
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
