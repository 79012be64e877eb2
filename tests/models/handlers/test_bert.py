"""The BERT scorer: a tiny trained classifier scored through RunInference, and its default."""

from __future__ import annotations

import os
from pathlib import Path

import apache_beam as beam
import pytest
import torch
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from models.bert import classify, load_classifier, load_tokenizer, tokenize
from models.data import load_examples
from models.handlers.bert import BertScorer, newest_trained
from pipeline.config import Settings
from pipeline.errors import ArtifactMissing
from pipeline.scoring import load_scorer


def test_handler_scores_keyed_comments_in_a_beam_pipeline(trained: Path) -> None:
    scorer = load_scorer(Settings(model="bert", model_path=trained, device="cpu", batch_size=8))
    assert isinstance(scorer, BertScorer)
    texts = {f"c{i}": e.text for i, e in enumerate(load_examples("test")[:20])}
    model = load_classifier(trained).eval()
    batch = tokenize(load_tokenizer(trained), list(texts.values()))
    expected = classify(batch, model, torch.device("cpu"), model.config.pad_token_id)
    want = [(key, round(float(p[1]), 4)) for key, p in zip(texts, expected, strict=True)]
    with BeamTestPipeline(runner="FnApiRunner") as pipeline:
        scored = (
            pipeline
            | beam.Create(sorted(texts.items()))
            | beam.MapTuple(lambda key, text: (key, scorer.encode(text, [])))
            | RunInference(KeyedModelHandler(scorer.model_handler()))
            | beam.MapTuple(lambda key, r: (key, round(scorer.negative_probability(r), 4)))
        )
        assert_that(scored, equal_to(want))
    assert scorer.version == trained.name


def test_bert_defaults_to_the_newest_finished_run(tmp_path: Path) -> None:
    with pytest.raises(ArtifactMissing, match="yuqing train bert"):
        newest_trained(tmp_path)
    for version in ("bert-old", "bert-new", "bert-unfinished"):
        (tmp_path / version).mkdir()
    (tmp_path / "bert-old" / "metrics.json").write_text("{}")
    (tmp_path / "bert-new" / "metrics.json").write_text("{}")
    os.utime(tmp_path / "bert-old" / "metrics.json", (1, 1))
    assert newest_trained(tmp_path) == tmp_path / "bert-new"
