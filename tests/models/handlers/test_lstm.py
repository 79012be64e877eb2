"""The LSTM scorer inside a real Beam pipeline: keyed, variable-length, batched inference."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import apache_beam as beam
import pytest
import torch
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import BeamAssertException, assert_that

from models.handlers.lstm import ONEDNN_CACHE_CAPACITY, LstmScorer, padded_inference_fn
from models.lstm import (
    PACKAGED_ARTIFACT,
    BiLSTMClassifier,
    load_artifact,
    negative_probabilities,
)
from pipeline.config import Settings
from pipeline.errors import ArtifactMissing
from pipeline.scoring import load_scorer
from tests.models.conftest import TEXTS


def _scores_close_to(expected: dict[str, float]) -> Callable[[list], None]:
    def check(actual: list[tuple[str, float]]) -> None:
        got = dict(actual)
        if got.keys() != expected.keys() or any(
            abs(got[key] - expected[key]) > 1e-5 for key in expected
        ):
            raise BeamAssertException(f"scores {got} differ from {expected}")

    return check


def test_load_scorer_builds_the_lstm_scorer_from_settings(tiny_artifact: Path) -> None:
    scorer = load_scorer(Settings(model="lstm", model_path=tiny_artifact, device="cpu"))
    assert isinstance(scorer, LstmScorer)
    assert (scorer.name, scorer.version) == ("lstm", "lstm-0.0.0-test")
    encoded = scorer.encode(TEXTS[3], tokens=[])
    assert encoded.dtype == torch.long and encoded.dim() == 1 and len(encoded) == 12


def test_keyed_run_inference_scores_each_comment_like_the_model(tiny_artifact: Path) -> None:
    settings = Settings(model="lstm", model_path=tiny_artifact, device="cpu", batch_size=3)
    scorer = load_scorer(settings)
    model, vocab, _ = load_artifact(tiny_artifact)
    probabilities = negative_probabilities(model, [vocab.encode(text) for text in TEXTS])
    expected = {f"c{i}": float(p) for i, p in enumerate(probabilities)}

    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        scores = (
            pipeline
            | "CreateComments" >> beam.Create([(f"c{i}", text) for i, text in enumerate(TEXTS)])
            | "Encode" >> beam.Map(lambda pair: (pair[0], scorer.encode(pair[1], [])))
            | "Score" >> RunInference(KeyedModelHandler(scorer.model_handler()))
            | "ReadNegative" >> beam.MapTuple(lambda key, r: (key, scorer.negative_probability(r)))
        )
        assert_that(scores, _scores_close_to(expected))


def test_handler_batches_follow_the_batch_size_setting(tiny_artifact: Path) -> None:
    scorer = load_scorer(Settings(model_path=tiny_artifact, device="cpu", batch_size=7))
    assert scorer.model_handler().batch_elements_kwargs() == {
        "min_batch_size": 7, "max_batch_size": 7}


def test_loading_the_model_bounds_onednns_compiled_shapes_unless_the_operator_did(
        tiny_artifact: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = LstmScorer(tiny_artifact).model_handler()
    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    handler.load_model()
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == ONEDNN_CACHE_CAPACITY
    monkeypatch.setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "8")
    handler.load_model()
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "8"


def test_missing_artifact_fails_at_construction_naming_the_command(tmp_path: Path) -> None:
    with pytest.raises(ArtifactMissing, match="yuqing train lstm"):
        load_scorer(Settings(model_path=tmp_path / "nowhere", device="cpu"))


def test_the_packaged_artifact_is_the_default() -> None:
    scorer = load_scorer(Settings(device="cpu"))
    assert scorer.directory == PACKAGED_ARTIFACT and scorer.version.startswith("lstm-")


def test_padded_inference_matches_scoring_each_comment_alone() -> None:
    torch.manual_seed(0)
    model = BiLSTMClassifier(vocab_size=30, embed_dim=8, hidden_dim=6).eval()
    batch = [torch.randint(2, 30, (int(n),)) for n in torch.randint(1, 50, (40,))]
    results = list(padded_inference_fn(batch, model, "cpu", model_id="m"))
    assert [r.example for r in results] == batch
    for example, result in zip(batch, results, strict=True):
        alone = torch.softmax(model(example[None, :]), dim=-1)[0]
        assert torch.allclose(result.inference, alone, atol=1e-6)
