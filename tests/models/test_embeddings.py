"""LAC character embeddings read from jieba: right shape, right rows, sensible coverage."""

from __future__ import annotations

import torch

from models.embeddings import LAC_DIM, build_vocab, embedding_init, lac_vectors
from models.lstm import PAD


def test_lac_vectors_cover_common_characters() -> None:
    vectors = lac_vectors()
    assert len(vectors) > 5000
    assert all(vectors[char].shape == (LAC_DIM,) for char in "好差贵便宜服务")
    assert not torch.allclose(torch.from_numpy(vectors["好"]), torch.from_numpy(vectors["差"]))


def test_embedding_rows_hold_the_lac_vector_of_their_character() -> None:
    vocab = build_vocab(["服务很好", "服务很差"], min_count=2)
    weights, coverage = embedding_init(vocab)
    assert weights.shape == (len(vocab), LAC_DIM)
    assert torch.equal(weights[PAD], torch.zeros(LAC_DIM))
    row = vocab.encode("差")[0]
    assert torch.equal(weights[row], torch.from_numpy(lac_vectors()["差"].copy()))
    assert coverage == 1.0


def test_vocab_keeps_rare_characters_only_when_lac_knows_them() -> None:
    vocab = build_vocab(["好好", "赞", "\ue139"], min_count=2)
    assert set(vocab.chars) == {"好", "赞"}
