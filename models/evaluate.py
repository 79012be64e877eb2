"""Held-out evaluation of a sentiment model, next to a baseline trained on the same split.

The model is scored through :class:`models.predict.Predictor`, i.e. the pipeline's own text
stage and model handler. The TF-IDF baseline is retrained on every run (a few seconds) so the
comparison never rests on a number copied from elsewhere.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    fbeta_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)

from models.data import Example, cleaned_pairs, load_examples
from models.predict import Predictor
from pipeline.config import Settings
from pipeline.records import EVEN_ODDS, Label
from pipeline.text.clean import clean

CLASSES = {label.value: label.index for label in (Label.NEGATIVE, Label.POSITIVE)}


def expected_calibration_error(gold: np.ndarray, p_negative: np.ndarray, bins: int = 15) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins (weighted).

    An alert threshold on P(negative) only means something if those probabilities are honest.
    """
    predicted = (p_negative >= EVEN_ODDS).astype(int)
    confidence = np.where(predicted == 1, p_negative, 1.0 - p_negative)
    correct = (predicted == gold).astype(float)
    edges = np.linspace(EVEN_ODDS, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gaps = [abs(correct[which == b].mean() - confidence[which == b].mean()) * (which == b).sum()
            for b in range(bins) if (which == b).any()]
    return float(sum(gaps) / len(gold))


def baseline_predictions(train: list[Example], texts: list[str]) -> np.ndarray:
    """TF-IDF over character 1–3-grams + logistic regression, fitted on the train split."""
    pairs = cleaned_pairs(train)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform([text for text, _ in pairs])
    classifier = LogisticRegression(C=10.0, max_iter=2000)
    classifier.fit(features, [label for _, label in pairs])
    return classifier.predict(vectorizer.transform([clean(text) for text in texts]))


def classification_report(gold: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    labels = list(CLASSES.values())
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=labels)
    return {
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, average="macro")), 4),
        "per_class": {
            name: {"precision": round(float(p), 4), "recall": round(float(r), 4),
                   "f1": round(float(f), 4), "support": int(s)}
            for name, p, r, f, s in zip(CLASSES, precision, recall, f1, support, strict=True)
        },
        "confusion": confusion_matrix(gold, predicted, labels=labels).tolist(),
    }


ALERT_BETA = 0.5
"""An alert threshold is judged by F-beta of the negative class with beta 0.5: precision
weighs twice as much as recall. A false alert spends an operator's attention and, repeated,
teaches the team to ignore the channel; a missed single complaint is usually one of several,
and a burst of them still surges."""


def alert_score(gold: np.ndarray, predicted: np.ndarray) -> float:
    """F0.5 of the negative class: how good ``predicted`` is as a set of alerts."""
    return float(fbeta_score(gold, predicted, beta=ALERT_BETA, pos_label=Label.NEGATIVE.index,
                             zero_division=0))


def alerts_at(gold: np.ndarray, p_negative: np.ndarray, threshold: float) -> dict[str, float]:
    """What alerting at ``threshold`` gives: F0.5, and the alerts' precision and recall."""
    alerted = (p_negative >= threshold).astype(int)
    scores = {"f05": alert_score(gold, alerted),
              "precision": precision_score(gold, alerted, pos_label=Label.NEGATIVE.index,
                                           zero_division=0),
              "recall": recall_score(gold, alerted, pos_label=Label.NEGATIVE.index,
                                     zero_division=0)}
    return {"threshold": threshold, **{name: round(float(v), 4) for name, v in scores.items()}}


def evaluate(settings: Settings, split: str = "test") -> dict[str, Any]:
    """Score ``split`` with the configured model; metrics at even odds, ECE, the alerts at the
    configured threshold, and the baseline's accuracy."""
    examples = load_examples(split)
    predictor = Predictor(settings)
    started = time.perf_counter()
    scored = list(predictor.score(example.text for example in examples))
    seconds = time.perf_counter() - started
    kept = [(e, s.score) for e, s in zip(examples, scored, strict=True) if s.score is not None]
    gold = np.array([example.label for example, _ in kept])
    p_negative = np.array([score for _, score in kept])
    report = classification_report(gold, (p_negative >= EVEN_ODDS).astype(int))
    baseline = baseline_predictions(load_examples("train"), [e.text for e, _ in kept])
    return {
        "model": predictor.scorer.name,
        "version": predictor.scorer.version,
        "split": split,
        "n": len(kept),
        "rejected": len(examples) - len(kept),
        **report,
        "ece": round(expected_calibration_error(gold, p_negative), 4),
        "alerts": alerts_at(gold, p_negative, settings.alert_threshold),
        "baseline_accuracy": round(float(accuracy_score(gold, baseline)), 4),
        "baseline_macro_f1": round(float(f1_score(gold, baseline, average="macro")), 4),
        "comments_per_s": round(len(examples) / seconds, 1),
    }


def format_report(report: dict[str, Any]) -> list[str]:
    """Human-readable lines; the rows and columns of the confusion matrix are gold/predicted."""
    lines = [f"{report['model']} {report['version']} on {report['split']} "
             f"({report['n']} texts, {report['rejected']} rejected by the text stage)",
             f"accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  "
             f"ECE {report['ece']:.4f}  baseline (TF-IDF char 1-3 + LR) accuracy "
             f"{report['baseline_accuracy']:.4f}"]
    for name, row in report["per_class"].items():
        lines.append(f"  {name:<9} precision {row['precision']:.4f}  recall {row['recall']:.4f}  "
                     f"F1 {row['f1']:.4f}  support {row['support']}")
    lines.append("confusion (rows gold, columns predicted; negative, positive):")
    lines += [f"  {name:<9} {row}" for name, row in zip(CLASSES, report["confusion"], strict=True)]
    alerts = report["alerts"]
    lines.append(f"alerts at the configured threshold {alerts['threshold']:.4f}: precision "
                 f"{alerts['precision']:.4f}  recall {alerts['recall']:.4f}  "
                 f"F0.5 {alerts['f05']:.4f}")
    return lines
