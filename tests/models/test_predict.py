"""Offline scoring: same text stage and handler as the pipeline, results in input order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from models.lstm import load_artifact, negative_probabilities
from models.predict import Predictor, settings_for
from pipeline.cli import app
from pipeline.config import Settings
from pipeline.errors import ArtifactMissing
from pipeline.text.clean import clean
from tests.models.conftest import TEXTS


def test_predictor_scores_in_order_and_keeps_rejected_texts(tiny_artifact: Path) -> None:
    predictor = Predictor(Settings(model_path=tiny_artifact, device="cpu", batch_size=2))
    results = list(predictor.score([TEXTS[0], "   ", TEXTS[1], TEXTS[2], "x" * 5000]))
    assert [r.text for r in results] == [TEXTS[0], "   ", TEXTS[1], TEXTS[2], "x" * 5000]
    assert [r.score is None for r in results] == [False, True, False, False, True]
    assert "empty" in (results[1].rejected or "")
    model, vocab, _ = load_artifact(tiny_artifact)
    expected = negative_probabilities(model, [vocab.encode(clean(t)) for t in TEXTS[:3]])
    got = torch.tensor([r.score for r in results if r.score is not None])
    assert torch.allclose(got, expected, atol=1e-6)


def test_settings_for_picks_the_named_models_artifact(tmp_path: Path) -> None:
    base = Settings(model="lstm", model_path=tmp_path)
    assert settings_for(base, None).model_path == tmp_path
    assert settings_for(base, "lstm").model_path == tmp_path
    assert settings_for(base, "bert").model_path is None  # the BERT scorer's own default
    assert settings_for(base, "bert", tmp_path / "b").model_path == tmp_path / "b"


def test_score_command_prints_one_json_line_per_comment(tiny_artifact: Path) -> None:
    args = ["score", "--model", "lstm", "--model-path", str(tiny_artifact)]
    result = CliRunner().invoke(app, args, input=f"{TEXTS[0]}\n\n{TEXTS[1]}\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [row["text"] for row in rows] == [TEXTS[0], "", TEXTS[1]]
    assert {row["version"] for row in rows} == {"lstm-0.0.0-test"}
    assert "error" in rows[1]
    for row in (rows[0], rows[2]):  # the pipeline's own rule and threshold
        assert row["threshold"] == Settings().alert_threshold
        assert row["label"] == ("negative" if row["score"] >= row["threshold"] else "positive")


def test_predictor_corrects_like_the_pipeline_unless_told_not_to(tiny_artifact: Path) -> None:
    settings = Settings(model_path=tiny_artifact, device="cpu")
    uncorrected = settings.model_copy(update={"correct_text": False})
    fixed = Predictor(settings).text_stage.process("对不气")
    kept = Predictor(uncorrected).text_stage.process("对不气")
    assert (fixed.text, kept.text) == ("对不起", "对不气")


def test_a_missing_model_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ArtifactMissing, match="yuqing train lstm"):
        Predictor(Settings(model_path=tmp_path / "nothing-here"))
