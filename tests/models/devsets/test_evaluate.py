"""The development-set evaluation: the threshold search on hand-checked cases, and the
command on the real default model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from models.devsets.evaluate import best_threshold, macro_f1
from pipeline.cli import app
from tests.models.devsets.test_load import DOMAINS


def test_the_best_threshold_separates_the_classes_between_two_comments() -> None:
    gold = np.array([0, 0, 0, 1, 1, 1])  # 1 = negative
    p_negative = np.array([0.55, 0.7, 0.8, 0.9, 0.95, 0.99])
    assert best_threshold(gold, p_negative) == (0.85, 1.0)


def test_the_best_threshold_prefers_precision_to_recall() -> None:
    # Cutting at 0.45 catches all four complaints with one false alert (macro-F1 0.889, the
    # best); cutting at 0.75 misses the one at 0.5 but alerts on no praise (F0.5 0.9375).
    gold = np.array([0, 0, 0, 0, 1, 0, 1, 1, 1])  # 1 = negative
    p_negative = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.9, 0.95, 0.97])
    assert best_threshold(gold, p_negative) == (0.75, 0.9375)
    assert macro_f1(gold, (p_negative >= 0.45).astype(int)) > macro_f1(
        gold, (p_negative >= 0.75).astype(int))


def test_among_equal_thresholds_the_one_nearest_even_odds_wins() -> None:
    gold = np.array([0, 0, 1, 1])
    assert best_threshold(gold, np.array([0.1, 0.2, 0.7, 0.9])) == (0.45, 1.0)


def test_eval_sentiment_reports_every_domain_for_the_default_lstm() -> None:
    result = CliRunner().invoke(app, ["eval", "sentiment", "--set", "dev-domains",
                                      "--model", "lstm"])
    assert result.exit_code == 0, result.output
    *lines, last = result.output.strip().splitlines()
    report = json.loads(last)
    assert (report["model"], report["set"], report["n"]) == ("lstm", "dev-domains", 460)
    assert "never a test figure" in report["note"] and "never a test figure" in lines[1]
    assert set(report["domains"]) == DOMAINS
    rows = report["domains"].values()
    assert sum(row["n"] for row in rows) == report["n"]
    assert sum(row["accuracy"] * row["n"] for row in rows) / report["n"] == pytest.approx(
        report["accuracy"], abs=1e-3)
    assert all(0 <= row["ece"] <= 1 and 0 <= row["macro_f1"] <= 1 for row in rows)
    suggested, configured = report["alerts"]["suggested"], report["alerts"]["configured"]
    assert 0 < report["suggested_threshold"] == suggested["threshold"] < 1
    assert suggested["f05"] >= configured["f05"]
    assert configured["threshold"] == 0.7  # YUQING_ALERT_THRESHOLD's default
    assert all(0 <= row[key] <= 1 for row in (suggested, configured)
               for key in ("precision", "recall"))
    for domain in DOMAINS:
        assert any(line.strip().startswith(domain) for line in lines), domain
