"""Run the robustness suite on a model and judge every case.

Texts are scored by :class:`models.predict.Predictor`, the pipeline's own text stage and model
handler, and labelled by :func:`pipeline.records.label_for` at the alert threshold, so a failure
here is a comment the pipeline would wrongly alert on (or wrongly let pass).

Pass rules:

- **INV**: the perturbed text gets the same label as the original. As in CheckList, this counts
  a change whether or not the original's label was right: it measures consistency, and the
  ``reviews`` test (the originals themselves) measures correctness.
- **DIR**: P(negative) moves at least ``margin`` towards the expected label, or ends within
  ``margin`` of that label's extreme (1 or 0), where no room is left to move.
- **MFT**: the label is the expected one.

A text the text stage rejects fails its case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from models.predict import Predictor
from models.robustness.suite import BehaviourTest, Case, Kind, Suite, load_suite
from pipeline.config import Settings
from pipeline.records import Label, label_for


@dataclass(frozen=True)
class Outcome:
    case: Case
    score: float | None
    original_score: float | None
    passed: bool


@dataclass(frozen=True)
class TestResult:
    test: BehaviourTest
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> int:
        return sum(outcome.passed for outcome in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.passed]


@dataclass(frozen=True)
class Results:
    model: str
    version: str
    threshold: float
    suite: Suite
    tests: tuple[TestResult, ...]


def judge(case: Case, kind: Kind, score: float | None, original: float | None,
          threshold: float, margin: float) -> bool:
    """Whether one case passes; ``score`` and ``original`` are P(negative), None if rejected."""
    if score is None or (kind is not Kind.MINIMUM and original is None):
        return False
    if kind is Kind.MINIMUM:
        return label_for(score, threshold) is case.expected
    assert original is not None
    if kind is Kind.INVARIANCE:
        return label_for(score, threshold) is label_for(original, threshold)
    toward = 1.0 if case.expected is Label.NEGATIVE else -1.0
    extreme = 1.0 if case.expected is Label.NEGATIVE else 0.0
    return toward * (score - original) >= margin or abs(extreme - score) <= margin


def run_suite(settings: Settings, suite: Suite | None = None, progress: bool = False) -> Results:
    """Score every distinct text of ``suite`` (default: the shipped one) once, then judge."""
    suite = suite or load_suite()
    predictor = Predictor(settings)
    texts = list(dict.fromkeys(
        text for test in suite.tests for case in test.cases
        for text in (case.text, case.original) if text is not None))
    scores = _scores(predictor, texts, progress)
    threshold = settings.alert_threshold
    results = []
    for test in suite.tests:
        outcomes = []
        for case in test.cases:
            score = scores[case.text]
            original = scores[case.original] if case.original is not None else None
            passed = judge(case, test.kind, score, original, threshold, suite.margin)
            outcomes.append(Outcome(case, score, original, passed))
        results.append(TestResult(test, tuple(outcomes)))
    return Results(predictor.scorer.name, predictor.scorer.version, threshold, suite,
                   tuple(results))


def _scores(predictor: Predictor, texts: list[str], progress: bool) -> dict[str, float | None]:
    # disable=None: a bar only on a terminal, never in a log or a pipe
    with tqdm(total=len(texts), unit="text", disable=None if progress else True,
              desc="scoring") as bar:
        scores = {}
        for scored in predictor.score(texts):
            scores[scored.text] = scored.score
            bar.update()
    return scores


def _rate(passed: int, cases: int) -> float | None:
    return round(passed / cases, 4) if cases else None


def summary(results: Results) -> dict[str, Any]:
    """The JSON figures: pass rates per test and per type (cases pooled over the type's tests)."""
    kinds: dict[str, list[int]] = {}
    for result in results.tests:
        counts = kinds.setdefault(result.test.kind.value, [0, 0])
        counts[0] += result.passed
        counts[1] += len(result.outcomes)
    passed = sum(result.passed for result in results.tests)
    return {
        "model": results.model,
        "version": results.version,
        "suite": results.suite.version,
        "threshold": results.threshold,
        "margin": results.suite.margin,
        "cases": results.suite.cases,
        "pass_rate": _rate(passed, results.suite.cases),
        "types": {kind: {"cases": total, "passed": ok, "pass_rate": _rate(ok, total)}
                  for kind, (ok, total) in kinds.items()},
        "tests": {result.test.name: {"type": result.test.kind.value,
                                     "cases": len(result.outcomes), "passed": result.passed,
                                     "pass_rate": _rate(result.passed, len(result.outcomes))}
                  for result in results.tests},
    }


def format_report(results: Results, examples: int = 3) -> list[str]:
    """A table of the tests, then up to ``examples`` failing cases of each."""
    figures = summary(results)
    lines = [f"{results.model} {results.version} on {results.suite.version}: "
             f"{figures['cases']} cases, labels at threshold {results.threshold}, "
             f"directional margin {results.suite.margin}",
             f"{'test':<18} {'type':<4} {'cases':>6} {'pass rate':>10}  description"]
    lines += [f"{result.test.name:<18} {result.test.kind.value:<4} {len(result.outcomes):>6} "
              f"{_percent(result.passed, len(result.outcomes)):>10}  {result.test.description}"
              for result in results.tests]
    lines += [f"{'all ' + kind:<23} {row['cases']:>6} {_percent(row['passed'], row['cases']):>10}"
              for kind, row in figures["types"].items()]
    for result in results.tests:
        failures = result.failures[:examples]
        if failures:
            lines.append(f"failing {result.test.name} ({len(result.failures)}):")
            lines += [f"  {_describe(outcome, result.test.kind)}" for outcome in failures]
    return lines


def _percent(passed: int, cases: int) -> str:
    return f"{100 * passed / cases:.1f}%" if cases else "-"


def _describe(outcome: Outcome, kind: Kind) -> str:
    case = outcome.case
    if kind is Kind.MINIMUM:
        return f"{case.text}  P(neg) {_score(outcome.score)}, expected {case.expected}"
    want = f", expected towards {case.expected}" if kind is Kind.DIRECTIONAL else ""
    return (f"{case.original} ({_score(outcome.original_score)}) -> {case.text} "
            f"({_score(outcome.score)}){want}")



def _score(p_negative: float | None) -> str:
    return "rejected" if p_negative is None else f"{p_negative:.3f}"
