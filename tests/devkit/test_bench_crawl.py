"""`yuqing bench crawl` at a small size: the four demo profiles crawl a live demo site into an
embedded broker, and the re-crawl of the unchanged site sends nothing and fetches fewer pages,
so the figures in docs/sources.md come from a bench that works."""

from __future__ import annotations

import json

import pytest

from devkit.bench.crawl import TOTAL, figures_of, run, table
from devkit.demosite.site_profiles import PROFILES
from pipeline.config import Settings

pytestmark = pytest.mark.integration

NAMES = [name.partition(".")[0] for name in PROFILES]
FIGURES = {"pages", "produced", "seconds", "requests_per_s", "comments_per_s"}


def test_a_round_sends_everything_once_then_nothing() -> None:
    result = json.loads(json.dumps(run(Settings(kafka_timeout_s=10), rounds=1, comments=300)))

    assert result["ok"] and result["rounds"] == 1
    first, again = result["runs"][0]["first"], result["runs"][0]["again"]
    assert list(first["profiles"]) == list(again["profiles"]) == [*NAMES, TOTAL]
    assert first["wall_s"] > first["profiles"][TOTAL]["seconds"] > 0
    for name in NAMES:
        assert 0 < first["profiles"][name]["produced"] <= result["published"][name]
        assert again["profiles"][name]["produced"] == 0
        assert again["profiles"][name]["pages"] <= first["profiles"][name]["pages"]
    assert first["profiles"][TOTAL]["produced"] == sum(
        first["profiles"][name]["produced"] for name in NAMES)
    assert again["profiles"][TOTAL]["pages"] < first["profiles"][TOTAL]["pages"]
    summary = result["summary"]["first"]["profiles"][TOTAL]
    assert set(summary) == FIGURES
    assert summary["pages"] == dict.fromkeys(("min", "median", "max"),
                                             first["profiles"][TOTAL]["pages"])
    assert len(table(result).splitlines()) == 2 + len(NAMES) + 1


def test_the_total_runs_from_the_first_start_to_the_last_finish() -> None:
    summary = {
        "a": {"pages": 4, "produced": 40, "started_at": "2026-12-01T10:00:00+00:00",
              "finished_at": "2026-12-01T10:00:02+00:00"},
        "b": {"pages": 6, "produced": 20, "started_at": "2026-12-01T10:00:01+00:00",
              "finished_at": "2026-12-01T10:00:05+00:00"}}

    figures = figures_of(summary)

    assert (figures["a"].seconds, figures["b"].seconds, figures[TOTAL].seconds) == (2, 4, 5)
    assert (figures[TOTAL].pages, figures[TOTAL].produced) == (10, 60)
    assert (figures[TOTAL].requests_per_s, figures[TOTAL].comments_per_s) == (2, 12)
