"""Distillation: the transfer set, the teacher's cached scores, and a tiny end-to-end run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

import models.distill as distill
from models.data import cleaned_pairs, load_examples
from models.distill import DistillConfig, augment, distill_lstm, soft_targets, transfer_set
from models.lstm import load_artifact
from models.train import LstmConfig
from pipeline.text.resources import confusion_sets


@pytest.fixture
def private_cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_augment_is_seeded_and_keeps_text() -> None:
    text = "房间很干净，服务员态度也很好，下次还会再来住"
    first = augment(text, random.Random(1), confusion_sets())
    assert first == augment(text, random.Random(1), confusion_sets())
    assert first and first != text


def test_transfer_set_holds_train_reviews_variants_and_news_never_dev_or_test() -> None:
    train = cleaned_pairs(load_examples("train")[:50])
    texts = transfer_set(DistillConfig(Path("unused"), news_sentences=10), train)
    assert texts[:50] == [text for text, _ in train]
    assert len(texts) == 50 + 50 + 10
    held_out = {
        text for split in ("dev", "test") for text, _ in cleaned_pairs(load_examples(split))
    }
    assert not held_out & set(texts)


def test_soft_targets_soften_and_stay_distributions() -> None:
    probabilities = np.array([[0.99, 0.01], [0.3, 0.7]])
    assert np.allclose(soft_targets(probabilities, 1.0), probabilities, atol=1e-6)
    softened = soft_targets(probabilities, 2.0)
    assert np.allclose(softened.sum(axis=1), 1.0)
    assert 0.5 < softened[0, 0] < 0.99


def test_teacher_scores_are_cached_and_a_lost_chunk_is_recomputed(
    trained: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(distill, "CHUNK", 4)
    texts = ["质量很好", "太差了", "一般般吧", "不会再来", "物流很快", "客服不理人"]
    first = distill.teacher_probabilities(trained, texts, 1, private_cache)
    chunks = sorted(private_cache.rglob("*.npy"))
    assert first.shape == (6, 2) and len(chunks) == 2
    chunks[1].unlink()
    again = distill.teacher_probabilities(trained, texts, 1, private_cache)
    assert np.allclose(first, again, atol=1e-6) and chunks[1].exists()


def test_tiny_distillation_run_writes_a_servable_artifact(trained: Path, tmp_path: Path,
                                                          private_cache: Path) -> None:
    student = LstmConfig(epochs=1, limit=200, hidden_dim=8, max_len=40, stride=2)
    config = DistillConfig(teacher=trained, news_sentences=20)
    card = distill_lstm(tmp_path / "student", config, private_cache, student)
    assert json.loads((tmp_path / "student" / "card.json").read_text(encoding="utf-8")) == card
    assert card["version"] == distill.DISTILLED_VERSION
    train_size = card["data"]["sizes"]["train"]
    distillation = card["hyperparameters"]["distillation"]
    assert distillation["transfer_size"] == 2 * train_size + 20
    assert 0.0 <= distillation["teacher_train_accuracy"] <= 1.0
    assert distillation["teacher"] == json.loads((trained / "metrics.json").read_text())["version"]
    model, _, _ = load_artifact(tmp_path / "student")
    assert model.stride == 2 and model.forward_lstm.hidden_size == 8


def test_a_missing_teacher_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="yuqing train bert"):
        distill_lstm(tmp_path / "student", DistillConfig(teacher=tmp_path / "none"),
                     tmp_path / "cache")
