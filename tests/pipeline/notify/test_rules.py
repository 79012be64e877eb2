"""Routing decisions and the [notifications] settings, without a store: matching, grouping,
quiet hours, throttles, backoff, and what a bad section says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.config import ConfigError, Settings
from pipeline.notify.rules import (
    backoff,
    first_due,
    group_key,
    quiet_until,
    routes,
    silenced_by,
    throttled_until,
)
from pipeline.notify_settings import Notifications
from tests.pipeline.notify.conftest import notice, notifications

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
HOOK = {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/"}}


class _Silence:
    def __init__(self, **matchers: str) -> None:
        self.matchers = matchers


def test_match_fields_and_alertmanager_order() -> None:
    settings = notifications(
        HOOK, {"name": "surges", "kinds": ["surge"]},
        {"name": "worst", "min_score": 0.95, "continue": True},
        {"name": "jd", "keywords": ["京东", "JD"], "sources": ["shop"]},
        {"name": "rest"})
    names = [[rule.name for rule in routes(settings.rules, n)] for n in (
        notice(1, kind="surge"), notice(2, score=0.99), notice(3, source="forum"),
        notice(4, kind="crawl_health", score=None, keywords=()))]
    assert names == [["surges"], ["worst", "jd"], ["rest"], ["rest"]]


def test_groups_follow_group_by() -> None:
    rule = notifications(HOOK, {"name": "r", "group_by": ["source", "keyword"]}).rules[0]
    assert group_key(rule, notice(1, keywords=("小米", "华为"))) == "source=shop,keyword=华为,小米"
    every = notifications(HOOK, {"name": "r", "group_by": ["..."]}).rules[0]
    assert group_key(every, notice(1)) != group_key(every, notice(2))
    assert group_key(notifications(HOOK, {"name": "r"}).rules[0], notice(1)) == ""


def test_a_silence_needs_every_matcher() -> None:
    silences = [_Silence(source="shop", keyword="携程"), _Silence(rule="other")]
    assert silenced_by(silences, notice(1), "r") is None
    assert silenced_by(silences, notice(1, keywords=("京东", "携程")), "r") is silences[0]
    assert silenced_by(silences, notice(1), "other") is silences[1]


def test_group_wait_for_a_new_group_and_interval_for_a_notified_one() -> None:
    rule = notifications(HOOK, {"name": "r", "group_wait": "30s",
                                "group_interval": "5m"}).rules[0]
    assert first_due(rule, NOW, None) == NOW + timedelta(seconds=30)
    assert first_due(rule, NOW, NOW - timedelta(minutes=1)) == NOW + timedelta(minutes=4)
    assert first_due(rule, NOW, NOW - timedelta(hours=1)) == NOW + timedelta(seconds=30)


@pytest.mark.parametrize(("utc_hour", "held_until"), [
    (4, None),  # 12:00 in Shanghai
    (14, datetime(2026, 12, 2, 0, tzinfo=UTC)),  # 22:00 → 08:00 next morning
    (23, datetime(2026, 12, 2, 0, tzinfo=UTC)),  # 07:00
    (0, None),  # 08:00: the end is not quiet
])
def test_quiet_hours_cross_midnight_in_their_zone(utc_hour: int,
                                                 held_until: datetime | None) -> None:
    settings = notifications(HOOK, {"name": "r", "quiet_hours": "22:00-08:00"},
                             {"name": "c", "quiet_hours": "22:00-08:00", "severity": "critical"})
    now = datetime(2026, 12, 1, utc_hour, tzinfo=UTC)
    assert quiet_until(settings, settings.rules[0], now) == held_until
    assert quiet_until(settings, settings.rules[1], now) is None


def test_throttle_window_and_backoff() -> None:
    rule = notifications(HOOK, {"name": "r", "throttle": {"max_messages": 2,
                                                          "period": "1h"}}).rules[0]
    sent = [NOW - timedelta(minutes=50), NOW - timedelta(minutes=10)]
    assert throttled_until(rule, sent[1:]) is None
    assert throttled_until(rule, sent) == NOW + timedelta(minutes=10)
    assert [backoff(timedelta(seconds=30), timedelta(minutes=2), n).total_seconds()
            for n in (1, 2, 3, 4)] == [30, 60, 120, 120]


def test_the_section_loads_from_the_config_file(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "yuqing.toml"
    path.write_text("""
[notifications.channels.ding]
type = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=x"
secret = { env = "DING_SECRET" }

[[notifications.rules]]
name = "all"
channels = ["ding"]
group_wait = "1m30s"
quiet_hours = "23:00-07:30"
""", encoding="utf-8")
    monkeypatch.setenv("YUQING_CONFIG", str(path))
    loaded = Settings().notifications
    assert loaded.rules[0].group_wait == timedelta(seconds=90)
    monkeypatch.setenv("DING_SECRET", "s3")
    secret = loaded.channels["ding"].secret  # type: ignore[union-attr]
    assert secret is not None and secret.reveal() == "s3"


@pytest.mark.parametrize(("section", "says"), [
    ({"rules": [{"name": "r", "channels": ["nowhere"]}]}, "unknown channels ['nowhere']"),
    ({"channels": {"c": {"type": "pager", "url": "u"}}}, "pager"),
    ({"timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"channels": HOOK, "rules": [{"name": "r", "channels": ["hook"], "group_wait": "5 min"}]},
     "not a duration"),
])
def test_a_bad_section_is_one_line_naming_it(section: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings(notifications=section)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_secrets_stay_out_of_reprs() -> None:
    channel = Notifications.model_validate({"channels": {"c": {
        "type": "webhook", "url": "u", "secret": "hunter2"}}}).channels["c"]
    assert "hunter2" not in repr(channel)
