"""Sentence-level spelling-correction metrics, as SIGHAN papers report them.

A sentence counts as *detected* when the set of positions a system changed equals the set of
positions that are wrong, and as *corrected* when its output equals the reference. Precision is
over sentences the system changed, recall over sentences that have errors; the false-positive
rate is over sentences that have none. (pycorrector's own script counts differently, so its
published numbers are not directly comparable: it never charges a wrong edit in an erroneous
sentence to precision.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SentenceMetrics:
    detection_precision: float
    detection_recall: float
    detection_f1: float
    precision: float
    recall: float
    f1: float
    fpr: float
    sentences: int

    def as_dict(self, digits: int = 4) -> dict[str, float]:
        return {key: round(value, digits) for key, value in asdict(self).items()}


def _changed(source: str, other: str) -> set[int]:
    return {i for i, (a, b) in enumerate(zip(source, other, strict=False)) if a != b} | (
        {-1} if len(source) != len(other) else set()
    )


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def sentence_metrics(
    sources: Sequence[str], targets: Sequence[str], predictions: Sequence[str]
) -> SentenceMetrics:
    changed = wrong = clean = false_alarms = detected = corrected = 0
    for source, target, prediction in zip(sources, targets, predictions, strict=True):
        edits, errors = _changed(source, prediction), _changed(source, target)
        changed += bool(edits)
        wrong += bool(errors)
        clean += not errors
        false_alarms += bool(edits) and not errors
        detected += bool(errors) and edits == errors
        corrected += bool(errors) and prediction == target
    detection_p, detection_r = detected / max(changed, 1), detected / max(wrong, 1)
    precision, recall = corrected / max(changed, 1), corrected / max(wrong, 1)
    return SentenceMetrics(
        detection_p,
        detection_r,
        _f1(detection_p, detection_r),
        precision,
        recall,
        _f1(precision, recall),
        false_alarms / max(clean, 1),
        len(sources),
    )
