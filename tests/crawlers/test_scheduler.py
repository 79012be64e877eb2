"""The scheduler's jobs follow the profile files, and live in the store across restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.profiles import ProfileError, load_profile_files
from crawlers.scheduler import CrawlScheduler
from pipeline.config import Settings
from pipeline.store.migrations import upgrade

PROFILE = """id: {id}
kind: json
start_urls: ["http://127.0.0.1:9/api"]
fields: {{items: data, text: text}}
schedule: {{{schedule}}}
"""


def _write(directory: Path, profile_id: str, schedule: str) -> None:
    (directory / f"{profile_id}.yaml").write_text(PROFILE.format(id=profile_id,
                                                                 schedule=schedule))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    database_url = f"sqlite:///{tmp_path / 'yuqing.db'}"
    upgrade(database_url)
    return Settings(database_url=database_url, data_dir=tmp_path / "data")


def _jobs(settings: Settings, directory: Path) -> dict[str, tuple[str, datetime]]:
    """Each job's trigger and next run, as a restarted scheduler finds them."""
    scheduler = CrawlScheduler(settings, directory)
    try:
        scheduler.open()
        return {job.id: (str(job.trigger), job.next_run_time) for job in scheduler.jobs()}
    finally:
        scheduler.close(wait=False)


def test_jobs_follow_the_profiles_and_keep_their_next_run_across_restarts(
        settings: Settings, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    _write(profiles, "weibo", "every: 5m")
    _write(profiles, "shop", "cron: '30 9 * * 1-5'")
    before = datetime.now(UTC)

    first = _jobs(settings, profiles)
    assert first["weibo"][0] == "interval[0:05:00]"
    assert first["shop"][0].startswith("cron[")
    assert all(before <= at <= datetime.now(UTC) for _, at in first.values())  # due at once

    assert _jobs(settings, profiles) == first  # a restart changes nothing

    _write(profiles, "weibo", "every: 1h")  # a changed schedule is re-timed
    (profiles / "shop.yaml").unlink()  # a removed profile is no longer scheduled
    _write(profiles, "forum", "every: 30m")
    third = _jobs(settings, profiles)
    assert set(third) == {"weibo", "forum"}
    assert third["weibo"][0] == "interval[1:00:00]"
    assert third["weibo"][1] > datetime.now(UTC)


def test_a_bad_profile_stops_the_scheduler_at_start_with_its_file_and_line(
        settings: Settings, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    _write(profiles, "weibo", "every: 5 minutes")
    with pytest.raises(ProfileError, match=r"weibo\.yaml:5: schedule\.every"):
        _jobs(settings, profiles)
    with pytest.raises(ProfileError):  # the same check the rescans make
        load_profile_files(profiles)
