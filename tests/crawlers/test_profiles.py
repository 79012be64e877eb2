"""Profile validation: every problem an operator can write is reported at load time with the file,
the key and the line, in YAML and TOML alike, so a typo never becomes an empty crawl."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawlers.profiles import Kind, ProfileError, Schedule, Secret, load_profile, load_profiles

WEIBO_YAML = """\
id: demo-weibo
kind: json
url_template: "http://127.0.0.1:8000/m/api/statuses?keyword={keyword}"
keywords: [京东, 携程]
fields:
  items: data.statuses
  text: text
  native_id: id
  published_at: created_at
paging:
  kind: cursor
  param: max_id
  next: data.max_id
schedule:
  every: 1h30m
  jitter: 30s
"""

WEIBO_TOML = """\
id = "demo-weibo"
kind = "json"
url_template = "http://127.0.0.1:8000/m/api/statuses?keyword={keyword}"
keywords = ["京东", "携程"]

[fields]
items = "data.statuses"
text = "text"
native_id = "id"
published_at = "created_at"

[paging]
kind = "cursor"
param = "max_id"
next = "data.max_id"

[schedule]
every = "1h30m"
jitter = "30s"
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_and_toml_profiles_load_to_the_same_profile(tmp_path: Path) -> None:
    from_yaml = load_profile(_write(tmp_path, "weibo.yaml", WEIBO_YAML))
    from_toml = load_profile(_write(tmp_path, "weibo.toml", WEIBO_TOML))

    assert from_yaml == from_toml
    assert from_yaml.kind is Kind.JSON
    assert from_yaml.schedule.every == timedelta(hours=1, minutes=30)
    assert from_yaml.urls() == [
        "http://127.0.0.1:8000/m/api/statuses?keyword=%E4%BA%AC%E4%B8%9C",
        "http://127.0.0.1:8000/m/api/statuses?keyword=%E6%90%BA%E7%A8%8B"]


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("weibo.yaml", WEIBO_YAML.replace("  native_id: id", "  nativ_id: id"),
     "weibo.yaml:8: fields.nativ_id: unknown key (a typo?)"),
    ("weibo.toml", WEIBO_TOML.replace('native_id = "id"', 'nativ_id = "id"'),
     "weibo.toml:9: fields.nativ_id: unknown key (a typo?)"),
    ("weibo.yaml", WEIBO_YAML.replace("  param: max_id\n", ""),
     "weibo.yaml:10: paging: paging kind cursor needs param"),
    ("weibo.toml", WEIBO_TOML.replace('param = "max_id"\n', ""),
     "weibo.toml:12: paging: paging kind cursor needs param"),
    ("weibo.yaml", WEIBO_YAML.replace("every: 1h30m", "every: often"),
     "weibo.yaml:15: schedule.every: Input should be a valid timedelta"),
    ("weibo.yaml", WEIBO_YAML.replace("  items: data.statuses", "  items: data.[statuses"),
     "fields.items: not a valid JMESPath expression 'data.[statuses'"),
    ("weibo.yaml", WEIBO_YAML + "timezone: Mars/Olympus\n",
     "weibo.yaml:17: timezone: unknown time zone 'Mars/Olympus'"),
    ("weibo.yaml", WEIBO_YAML.replace("keywords: [京东, 携程]\n", ""),
     "url_template needs keywords"),
    ("weibo.yaml", WEIBO_YAML.replace("id: demo-weibo", "id: Demo Weibo"),
     "weibo.yaml:1: id: String should match pattern"),
    ("weibo.yaml", WEIBO_YAML.replace("schedule:\n  every: 1h30m\n  jitter: 30s\n", ""),
     "weibo.yaml: schedule: Field required"),
    ("weibo.yaml", WEIBO_YAML.replace("  every: 1h30m", "  cron: '*/5 * * *'"),
     "weibo.yaml:14: schedule: cron '*/5 * * *' must have 5 fields"),
    ("weibo.yaml", "id: [unclosed\n", "weibo.yaml: not valid YAML"),
    ("weibo.toml", "id = \n", "weibo.toml: not valid TOML"),
    ("weibo.yaml", "- a list\n", "a profile is a table of keys"),
    ("weibo.txt", WEIBO_YAML, "a profile is a .toml, .yaml or .yml file"),
])
def test_each_problem_names_the_file_the_key_and_the_line(
        tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(ProfileError) as raised:
        load_profile(path)
    assert expected in str(raised.value)
    assert str(path) in str(raised.value)


def test_html_selectors_are_checked_in_their_own_syntax(tmp_path: Path) -> None:
    html = """\
id: forum
kind: html
selectors: xpath
start_urls: ["http://127.0.0.1:8000/forum/"]
fields:
  items: "//div[@class='reply'"
  text: "./p/text()"
paging: {kind: next_link, next: "//a[text()='下一页']/@href"}
schedule: {every: 10m}
"""
    with pytest.raises(ProfileError, match=r"forum.yaml:6: fields.items: not a valid XPATH"):
        load_profile(_write(tmp_path, "forum.yaml", html))
    fixed = load_profile(_write(tmp_path, "forum.yaml", html.replace("'reply'", "'reply']")))
    assert fixed.paging.kind == "next_link"


def test_an_rss_profile_needs_no_field_mapping(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, "feed.toml", (
        'id = "feed"\nkind = "rss"\nstart_urls = ["http://127.0.0.1:8000/feed.xml"]\n'
        '[schedule]\ncron = "*/15 * * * *"\n')))
    assert profile.schedule.cron == "*/15 * * * *"


def test_secrets_come_from_the_environment_or_a_file_never_the_profile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = _write(tmp_path, "cookie.txt", "SUB=abc\n")
    monkeypatch.setenv("WEIBO_COOKIE", "SUB=from-env")

    assert Secret(env="WEIBO_COOKIE").read() == "SUB=from-env"
    assert Secret(file=secret_file).read() == "SUB=abc"
    with pytest.raises(ProfileError, match="WEIBO_TOKEN is not set"):
        Secret(env="WEIBO_TOKEN").read()
    needs_token = load_profile(_write(tmp_path, "token.yaml", WEIBO_YAML + (
        "secret_headers:\n  Authorization: {env: WEIBO_TOKEN}\n")))
    with pytest.raises(ProfileError, match="profile demo-weibo: Authorization: the environment "
                                           "variable WEIBO_TOKEN is not set"):
        needs_token.check_secrets()
    monkeypatch.setenv("WEIBO_TOKEN", "t")
    needs_token.check_secrets()
    with pytest.raises(ProfileError, match=r"weibo.yaml:18: cookies.SUB: a secret is \{env: "
                                           r"NAME\} or \{file: PATH\}: its value never"):
        load_profile(_write(tmp_path, "weibo.yaml", WEIBO_YAML + "cookies:\n  SUB: abc\n"))


def test_a_directory_reports_every_file_s_problems_and_duplicate_ids(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", WEIBO_YAML)
    _write(tmp_path, "b.toml", WEIBO_TOML)
    _write(tmp_path, "c.yaml", WEIBO_YAML.replace("kind: json", "kind: jsonp"))
    _write(tmp_path, "notes.md", "not a profile")

    with pytest.raises(ProfileError) as raised:
        load_profiles(tmp_path)
    message = str(raised.value)
    assert "b.toml: id 'demo-weibo' is already used by" in message
    assert "c.yaml:2: kind: Input should be 'html', 'json' or 'rss'" in message
    assert "notes.md" not in message


def test_a_cron_schedule_reads_weekdays_as_cron_does_in_the_profile_s_zone() -> None:
    """APScheduler 3 counts weekdays from Monday; crontab, and operators, from Sunday."""
    shanghai = ZoneInfo("Asia/Shanghai")
    trigger = Schedule(cron="30 9 * * 1-5").trigger(shanghai)  # weekdays at 09:30
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=shanghai)
    assert trigger.get_next_fire_time(None, saturday) == datetime(2026, 12, 7, 9, 30,
                                                                  tzinfo=shanghai)
    sunday_only = Schedule(cron="0 8 * * 0").trigger(shanghai)
    assert sunday_only.get_next_fire_time(None, saturday) == datetime(2026, 12, 6, 8, 0,
                                                                      tzinfo=shanghai)
    every = Schedule(every="5m", jitter="30s").trigger(shanghai)
    assert (every.interval, every.jitter) == (timedelta(minutes=5), 30)


@pytest.mark.parametrize(("cron", "problem"), [
    ("61 * * * *", "the last value (61) is higher than the maximum value (59)"),
    ("0 0 * * 9-x", 'Unrecognized expression "9-x" for field "day_of_week"'),
])
def test_a_cron_expression_is_checked_when_the_profile_loads(cron: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        Schedule(cron=cron)
