"""Errors an operator can act on: one line on stderr, naming what is wrong and what to do.

Each case is a row of the table of problems a new operator ran into; every command runs as a
real ``yuqing`` process against real servers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from devkit.demosite.comments import demo_comments
from devkit.demosite.server import DemoSite
from pipeline.broker import free_port

ROOT = Path(__file__).resolve().parents[3]


def yuqing(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=clean | env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith("yuqing: error: ")
    return lines[0]


@pytest.fixture
def wrong_password(postgres_url: str) -> str:
    return make_url(postgres_url).set(password="not-the-password").render_as_string(
        hide_password=False)


@pytest.mark.integration
@pytest.mark.parametrize("command", [["alerts"], ["run", "--until-idle=1"], ["dead-letters"]])
def test_a_wrong_database_password_is_one_line_naming_the_masked_url(
    wrong_password: str, command: list[str]
) -> None:
    done = yuqing(*command, YUQING_DATABASE_URL=wrong_password)
    line = one_line(done)
    assert done.returncode == 1
    assert "password authentication failed" in line and "not-the-password" not in line
    assert make_url(wrong_password).render_as_string(hide_password=True) in line


@pytest.mark.integration
def test_verbose_shows_the_traceback(wrong_password: str) -> None:
    done = yuqing("-v", "alerts", YUQING_DATABASE_URL=wrong_password)
    assert done.returncode == 1 and "Traceback" in done.stderr


@pytest.mark.integration
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_plain_postgres_urls_are_accepted(postgres_url: str, scheme: str) -> None:
    url = make_url(postgres_url).set(drivername=scheme).render_as_string(hide_password=False)
    line = one_line(yuqing("alerts", YUQING_DATABASE_URL=url))
    assert "run `yuqing db upgrade`" in line  # it connected: the new database has no schema


def test_a_store_without_the_schema_names_the_command(tmp_path: Path) -> None:
    done = yuqing("alerts", YUQING_DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}")
    assert done.returncode == 1 and "`yuqing db upgrade`" in one_line(done)
    assert yuqing("db", "upgrade", YUQING_DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}"
                  ).returncode == 0
    listed = yuqing("alerts", YUQING_DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}")
    assert listed.returncode == 0 and "0 alerts" in listed.stdout


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    done = yuqing("alerts", YUQING_CONFIG=str(tmp_path / "missing.toml"))
    assert done.returncode == 2 and str(tmp_path / "missing.toml") in one_line(done)


def test_a_misspelled_setting_suggests_the_right_one(tmp_path: Path) -> None:
    config = tmp_path / "yuqing.toml"
    config.write_text("alert_treshold = 0.5\n")
    line = one_line(yuqing("alerts", YUQING_CONFIG=str(config)))
    assert "alert_treshold" in line and "alert_threshold" in line


@pytest.mark.integration
def test_a_crawl_without_a_broker_is_one_line_and_fails() -> None:
    with DemoSite(demo_comments(5)) as site:
        done = yuqing("crawl", "demo_api", "--base-url", site.base_url,
                      YUQING_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}", YUQING_KAFKA_TIMEOUT_S="2")
    assert done.returncode == 1
    assert "no Kafka broker answers at 127.0.0.1:" in one_line(done)
    assert done.stdout == ""


def test_a_missing_model_artifact_names_the_command(tmp_path: Path) -> None:
    done = yuqing("score", "--text", "好", YUQING_MODEL_PATH=str(tmp_path / "none"))
    assert done.returncode == 1 and "`yuqing train lstm`" in one_line(done)


@pytest.mark.parametrize(("args", "says"), [
    (["alerts", "--since", "1000000d"], "reaches back before the year 1"),
    (["alerts", "--limit", "99999999999999999999999"], "less than or equal to 100000"),
    (["dead-letters", "--limit", "0"], "greater than or equal to 1"),
    (["correct", ""], "text is empty after cleaning"),
    (["alerts", "--bogus"], "No such option: --bogus"),
])  # fmt: skip
def test_bad_arguments_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    done = yuqing(*args)
    assert done.returncode == 2 and says in one_line(done)


def test_an_argument_that_is_not_utf8_is_one_line() -> None:
    raw = os.fsdecode(b"\xff\xfe")  # what Python makes of such bytes in argv
    done = yuqing("correct", raw)
    assert done.returncode == 2 and "argument 2 is not valid UTF-8" in one_line(done)


def test_score_reports_undecodable_stdin_lines_in_place_and_scores_the_rest() -> None:
    done = subprocess.run([sys.executable, "-m", "pipeline", "score"], cwd=ROOT,
                          input=b"\xff\xfe random\n\xe9t\xe9 (Latin-1)\n\xe5\xa5\xbd\n",
                          capture_output=True, timeout=120, check=False)
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [("error" in row, row.get("text")) for row in rows] == [
        (True, None), (True, None), (False, "好")]
    assert done.returncode == 1
    assert done.stderr.decode().strip() == "yuqing: error: 2 input lines were not UTF-8"
