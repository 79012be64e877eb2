"""The robustness suite: its perturbations, its expansion, its pass rules, and a run through the
real LSTM and the command line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from models.predict import Predictor
from models.robustness import perturb
from models.robustness.runner import judge, run_suite, summary
from models.robustness.suite import BehaviourTest, Case, Kind, Suite, load_suite
from models.train import LSTM_VERSION
from pipeline.cli import app
from pipeline.config import Settings
from pipeline.records import Label, label_for
from pipeline.text.clean import clean

ROOT = Path(__file__).resolve().parents[2]
LSTM = ROOT / "models" / "artifacts" / "lstm"
FINGERPRINT = ("import hashlib; from models.robustness.suite import load_suite; "
               "print(hashlib.sha256(repr(load_suite()).encode()).hexdigest())")


def test_endings_replace_the_closing_punctuation() -> None:
    assert perturb.end_with("太棒了吧。", "！！！") == "太棒了吧！！！"
    assert perturb.end_with("太棒了吧", "～～") == "太棒了吧～～"
    assert perturb.end_with("还行吧！！", "。。。") == "还行吧。。。"


def test_stretch_repeats_the_last_chinese_character() -> None:
    assert perturb.stretch("太慢了", 4) == "太慢了了了了"
    assert perturb.stretch("又出bug了，更新完就闪退！", 3) == "又出bug了，更新完就闪退退退！"
    with pytest.raises(ValueError):
        perturb.stretch("太慢了", 1)


def test_traditional_and_full_width_forms_fold_back_in_the_text_stage() -> None:
    text = "这个App的5G信号很稳定，网速也快"
    assert perturb.traditional(text) == "這個App的5G信號很穩定，網速也快"
    assert perturb.full_width(text) == "这个Ａｐｐ的５Ｇ信号很稳定，网速也快"
    assert clean(perturb.traditional(text)) == clean(perturb.full_width(text)) == clean(text)


def test_swap_replaces_the_brand_and_refuses_a_text_without_it() -> None:
    assert perturb.swap("顺丰的快递很快，顺丰好评", "顺丰", "中通") == "中通的快递很快，中通好评"
    with pytest.raises(ValueError, match="does not contain"):
        perturb.swap("快递很快", "顺丰", "中通")


def test_additions_and_contrast() -> None:
    assert perturb.append("太好用了", "😊") == "太好用了😊"
    assert perturb.append("太好用了", "https://t.cn/x") == "太好用了 https://t.cn/x"
    assert perturb.prepend("太好用了", "@小王") == "@小王 太好用了"
    assert perturb.contrast("包装很仔细。", "但是价格太贵了") == "包装很仔细，但是价格太贵了"


def test_expansion_is_deterministic_across_processes() -> None:
    here = hashlib.sha256(repr(load_suite()).encode()).hexdigest()
    there = subprocess.run([sys.executable, "-c", FINGERPRINT], cwd=ROOT, capture_output=True,
                           text=True, check=True, timeout=120).stdout.strip()
    assert here == there


def test_no_perturbation_is_a_no_op() -> None:
    suite = load_suite()
    for test in suite.tests:
        assert len(test.cases) >= 10, test.name  # a rule that stopped changing text makes none
        for case in test.cases:
            assert case.text != case.original, (test.name, case)
    kinds = {test.kind for test in suite.tests}
    assert kinds == set(Kind) and 1000 <= suite.cases <= 3000


def test_cases_carry_what_their_kind_is_judged_on() -> None:
    for test in load_suite().tests:
        for case in test.cases:
            assert (case.original is None) is (test.kind is Kind.MINIMUM)
            assert (case.expected is None) is (test.kind is Kind.INVARIANCE)


@pytest.mark.parametrize(("kind", "expected", "score", "original", "passed"), [
    (Kind.MINIMUM, Label.NEGATIVE, 0.85, None, True),
    (Kind.MINIMUM, Label.NEGATIVE, 0.75, None, False),  # negative only at the alert threshold
    (Kind.INVARIANCE, None, 0.79, 0.10, True),
    (Kind.INVARIANCE, None, 0.81, 0.79, False),
    (Kind.DIRECTIONAL, Label.NEGATIVE, 0.36, 0.30, True),
    (Kind.DIRECTIONAL, Label.NEGATIVE, 0.33, 0.30, False),  # moved less than the margin
    (Kind.DIRECTIONAL, Label.NEGATIVE, 0.97, 0.99, True),  # saturated: no room left
    (Kind.DIRECTIONAL, Label.POSITIVE, 0.80, 0.90, True),
    (Kind.DIRECTIONAL, Label.POSITIVE, 0.95, 0.96, False),
    (Kind.DIRECTIONAL, Label.POSITIVE, None, 0.96, False),  # rejected by the text stage
])
def test_pass_rules(kind: Kind, expected: Label | None, score: float | None,
                    original: float | None, passed: bool) -> None:
    case = Case("x", None if kind is Kind.MINIMUM else "y", expected)
    assert judge(case, kind, score, original, threshold=0.8, margin=0.05) is passed


def test_a_small_suite_through_the_real_lstm_is_judged_on_the_pipelines_scores() -> None:
    suite = Suite("test", 0.05, (
        BehaviourTest("inv", Kind.INVARIANCE, "", (Case("太棒了吧！！！", "太棒了吧"),
                                           Case("太棒了吧😊", "太棒了吧"))),
        BehaviourTest("dir", Kind.DIRECTIONAL, "",
                      (Case("快递不准时", "快递准时", Label.NEGATIVE),)),
        BehaviourTest("mft", Kind.MINIMUM, "", (Case("客服态度太差了", expected=Label.NEGATIVE),
                                       Case("   ", expected=Label.POSITIVE))),
    ))
    settings = Settings(model="lstm", model_path=LSTM)
    results = run_suite(settings, suite)
    texts = ["太棒了吧！！！", "太棒了吧😊", "太棒了吧", "快递不准时", "快递准时", "客服态度太差了"]
    scores = {s.text: s.score for s in Predictor(settings).score(texts)}
    inv, direction, mft = results.tests
    for outcome in inv.outcomes:
        assert outcome.score == scores[outcome.case.text]
        assert outcome.passed is (label_for(scores[outcome.case.text], settings.alert_threshold)
                                  is label_for(scores["太棒了吧"], settings.alert_threshold))
    assert direction.outcomes[0].original_score == scores["快递准时"]
    assert [o.passed for o in mft.outcomes] == [
        scores["客服态度太差了"] >= settings.alert_threshold, False]
    figures = summary(results)
    assert (figures["version"], figures["suite"], figures["cases"]) == (LSTM_VERSION, "test", 5)
    assert figures["tests"]["mft"]["passed"] == mft.passed


def test_the_command_prints_a_table_and_a_json_last_line() -> None:
    args = ["eval", "robustness", "--model", "lstm", "--model-path", str(LSTM), "--examples", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    figures = json.loads(lines[-1])
    assert {"model", "version", "suite", "threshold", "cases", "pass_rate", "types",
            "tests"} <= figures.keys()
    assert set(figures["types"]) == {"INV", "DIR", "MFT"}
    assert {"punctuation_runs", "negation", "slang_complaint"} <= figures["tests"].keys()
    for name, row in figures["tests"].items():
        assert any(line.startswith(name) and row["type"] in line for line in lines)
    assert figures["suite"] == load_suite().version
