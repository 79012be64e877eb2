"""A tiny, randomly initialised LSTM artifact: enough to test plumbing, fast to build."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.lstm import BiLSTMClassifier, CharVocab, save_artifact

TEXTS = ["质量很好，物流也快", "太差了，再也不买", "一般", "房间干净，服务热情，下次还来住这家酒店"]
PARAMS = {"vocab_size": 0, "embed_dim": 8, "hidden_dim": 6, "dropout": 0.0, "ngram_buckets": 64}


@pytest.fixture
def tiny_artifact(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    vocab = CharVocab.build(TEXTS, min_count=1, max_len=12)
    params = {**PARAMS, "vocab_size": len(vocab)}
    card = {"name": "lstm", "version": "lstm-0.0.0-test", "model_params": params}
    save_artifact(tmp_path / "lstm", BiLSTMClassifier(**params), vocab, card)
    return tmp_path / "lstm"
