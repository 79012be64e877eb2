"""Evaluation metrics on hand-checked cases, and the report on a tiny saved model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.evaluate import (
    classification_report,
    evaluate,
    expected_calibration_error,
    format_report,
)
from pipeline.config import Settings


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    gold = np.array([1, 1, 1, 0] * 5)
    assert expected_calibration_error(gold, np.full(20, 0.75)) == pytest.approx(0.0)


def test_ece_is_large_for_confident_mistakes() -> None:
    gold = np.array([1, 0, 1, 0])
    assert expected_calibration_error(gold, np.array([0.01, 0.99, 0.02, 0.98])) > 0.95


def test_report_counts_negatives_as_the_first_row() -> None:
    gold = np.array([1, 1, 1, 0, 0])
    predicted = np.array([1, 1, 0, 0, 1])
    report = classification_report(gold, predicted)
    assert report["confusion"] == [[2, 1], [1, 1]]
    assert report["accuracy"] == 0.6
    assert report["per_class"]["negative"]["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["per_class"]["positive"]["precision"] == 0.5


def test_evaluate_reports_every_field_for_a_saved_model(tiny_artifact: Path) -> None:
    report = evaluate(Settings(model_path=tiny_artifact, device="cpu", batch_size=256))
    assert (report["model"], report["version"]) == ("lstm", "lstm-0.0.0-test")
    assert report["n"] + report["rejected"] == 1759
    assert sum(map(sum, report["confusion"])) == report["n"]
    assert 0.8 < report["baseline_accuracy"] < 0.95
    assert 0.0 <= report["ece"] <= 1.0
    assert json.loads(json.dumps(report)) == report
    assert format_report(report)[1].startswith(f"accuracy {report['accuracy']:.4f}")
