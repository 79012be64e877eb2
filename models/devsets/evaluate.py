"""A model on the other-domains development set: overall, per domain, and the threshold it
would suggest.

Scored through :class:`models.predict.Predictor` (the pipeline's own text stage and model
handler) and measured with :mod:`models.evaluate`'s metrics, so the figures compare with the
test split's. Calibration is reported per domain because one alert threshold serves every
source: a model that is honest on shopping reviews and overconfident on Weibo posts needs a
different remedy from one that is uniformly off.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from models.devsets import load_dev_domains
from models.evaluate import (
    alert_score,
    alerts_at,
    classification_report,
    expected_calibration_error,
)
from models.predict import Predictor
from pipeline.config import Settings
from pipeline.records import EVEN_ODDS

SET_NAME = "dev-domains"
NOTE = ("development set written by the Yuqing team (ten domains absent from training); used to "
        "choose models and thresholds, never a test figure")


def macro_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    return float(f1_score(gold, predicted, average="macro", labels=[0, 1], zero_division=0))


def best_threshold(gold: np.ndarray, p_negative: np.ndarray) -> tuple[float, float]:
    """The cut on P(negative) whose alerts have the highest F0.5
    (:data:`~models.evaluate.ALERT_BETA`), and that F0.5.

    Candidates are the midpoints between neighbouring distinct scores (plus both ends), so the
    cut sits between two comments rather than on one; among equally good cuts the one nearest
    even odds wins, as the least surprising change.
    """
    scores = np.unique(p_negative)
    cuts = np.concatenate(([0.0], (scores[:-1] + scores[1:]) / 2, [1.0]))
    f05 = np.array([alert_score(gold, (p_negative >= cut).astype(int)) for cut in cuts])
    best = cuts[np.isclose(f05, f05.max())]
    cut = float(best[np.argmin(np.abs(best - EVEN_ODDS))])
    return round(cut, 4), round(float(f05.max()), 4)


def _metrics(gold: np.ndarray, p_negative: np.ndarray) -> dict[str, Any]:
    predicted = (p_negative >= EVEN_ODDS).astype(int)
    return {"n": len(gold), "accuracy": round(float(accuracy_score(gold, predicted)), 4),
            "macro_f1": round(macro_f1(gold, predicted), 4),
            "ece": round(expected_calibration_error(gold, p_negative), 4)}


def evaluate_dev_domains(settings: Settings) -> dict[str, Any]:
    """Score the set with the configured model; metrics overall and per domain, the
    F0.5-best alert threshold, and the alerts at it and at the configured alert threshold."""
    examples = load_dev_domains()
    predictor = Predictor(settings)
    scored = predictor.score(example.text for example in examples)
    kept = [(e, s.score) for e, s in zip(examples, scored, strict=True) if s.score is not None]
    gold = np.array([example.label for example, _ in kept])
    p_negative = np.array([score for _, score in kept])
    domains = np.array([example.domain for example, _ in kept])
    threshold, _ = best_threshold(gold, p_negative)
    return {
        "model": predictor.scorer.name,
        "version": predictor.scorer.version,
        "set": SET_NAME,
        "note": NOTE,
        "n": len(kept),
        "rejected": len(examples) - len(kept),
        **classification_report(gold, (p_negative >= EVEN_ODDS).astype(int)),
        "ece": round(expected_calibration_error(gold, p_negative), 4),
        "domains": {domain: _metrics(gold[domains == domain], p_negative[domains == domain])
                    for domain in dict.fromkeys(domains)},
        "suggested_threshold": threshold,
        "alerts": {"suggested": alerts_at(gold, p_negative, threshold),
                   "configured": alerts_at(gold, p_negative, settings.alert_threshold)},
    }


def format_dev_report(report: dict[str, Any]) -> list[str]:
    """Human-readable lines: the overall figures, one row per domain, the suggestion."""
    lines = [f"{report['model']} {report['version']} on {report['set']} ({report['n']} texts, "
             f"{report['rejected']} rejected by the text stage)",
             f"NOTE: {report['note']}.",
             f"overall: accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  "
             f"ECE {report['ece']:.4f}  (label negative at P(negative) >= {EVEN_ODDS})",
             f"  {'domain':<10} {'n':>4} {'accuracy':>9} {'macro-F1':>9} {'ECE':>7}"]
    lines += [f"  {name:<10} {row['n']:>4} {row['accuracy']:>9.4f} {row['macro_f1']:>9.4f} "
              f"{row['ece']:>7.4f}" for name, row in report["domains"].items()]
    lines.append("confusion (rows gold, columns predicted; negative, positive): "
                 f"{report['confusion']}")
    suggested, configured = report["alerts"]["suggested"], report["alerts"]["configured"]
    lines.append(f"suggested alert threshold {suggested['threshold']:.4f}, the best F0.5 of the "
                 "alerts (precision weighs twice recall), chosen on this development set - a "
                 "suggestion, not a tested figure")
    lines += [f"  alerts at {name} {row['threshold']:.4f}: precision {row['precision']:.4f}  "
              f"recall {row['recall']:.4f}  F0.5 {row['f05']:.4f}"
              for name, row in (("the suggested", suggested), ("the configured", configured))]
    return lines
