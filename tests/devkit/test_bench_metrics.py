from __future__ import annotations

import pytest

from devkit.bench.metrics import sentence_metrics


def test_sentence_level_counts() -> None:
    sources = ["我跟朋唷去", "对不气", "今天很好", "天气很好"]
    targets = ["我跟朋友去", "对不起", "今天很好", "天气很好"]
    predictions = ["我跟朋友去", "对不及", "今天很好", "天汽很好"]
    m = sentence_metrics(sources, targets, predictions)
    assert m.precision == pytest.approx(1 / 3)
    assert m.recall == pytest.approx(1 / 2)
    assert m.f1 == pytest.approx(0.4)
    assert m.detection_precision == pytest.approx(2 / 3)
    assert m.detection_recall == pytest.approx(1.0)
    assert m.fpr == pytest.approx(1 / 2)


def test_doing_nothing_scores_zero_with_no_false_alarms() -> None:
    m = sentence_metrics(["对不气", "好"], ["对不起", "好"], ["对不气", "好"])
    assert (m.f1, m.recall, m.fpr) == (0.0, 0.0, 0.0)
