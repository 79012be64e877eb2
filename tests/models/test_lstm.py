"""The character BiLSTM: vocabulary, padding invariance, training and artifact round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from models.data import data_hash
from models.lstm import (
    PAD,
    UNK,
    BiLSTMClassifier,
    CharVocab,
    FoldedBiLSTM,
    load_artifact,
    negative_probabilities,
    ngram_bag,
    reverse_valid,
)
from models.train import LstmConfig, train_lstm
from tests.models.conftest import TEXTS


def test_vocab_reserves_pad_and_unk_and_truncates() -> None:
    vocab = CharVocab.build(["好好好坏"], min_count=2, max_len=3)
    assert vocab.chars == ["好"]
    assert vocab.encode("好坏好好") == [2, UNK, 2]
    assert PAD not in vocab.encode("好坏")
    assert vocab.encode("") == [UNK]


def test_vocab_ids_match_encode_for_unknown_and_unusual_characters() -> None:
    vocab = CharVocab(["好", "坏"], max_len=4)
    for text in ["好坏", "好x坏", "😀好", "\ud800好", "好好坏坏好", ""]:
        ids = vocab.ids(text)
        assert ids.dtype == torch.long
        assert ids.tolist() == vocab.encode(text)
    assert vocab.encode("x😀\ud800坏") == [UNK, UNK, UNK, 3]
    assert vocab.encode("") == [UNK]


@pytest.mark.parametrize(("ngram_buckets", "stride"), [(0, 1), (50, 2), (50, 4), (0, 3)])
def test_folded_model_scores_like_the_trained_one(ngram_buckets: int, stride: int) -> None:
    torch.manual_seed(0)
    model = BiLSTMClassifier(20, embed_dim=8, hidden_dim=6, ngram_buckets=ngram_buckets,
                             stride=stride).eval()
    sequences = [[3, 4, 5], [6, 7, 8, 9, 10, 11, 12, 13], [2], [19, 18, 17, 16, 15]]
    folded = FoldedBiLSTM(model)
    assert not folded.training and not hasattr(folded, "embedding")
    assert torch.allclose(negative_probabilities(folded, sequences),
                          negative_probabilities(model, sequences), atol=1e-6)


def test_two_lstms_equal_a_packed_bidirectional_lstm() -> None:
    torch.manual_seed(0)
    model = BiLSTMClassifier(vocab_size=20, embed_dim=8, hidden_dim=5).eval()
    reference = nn.LSTM(8, 5, batch_first=True, bidirectional=True)
    weights = dict(model.forward_lstm.state_dict())
    weights |= {f"{k}_reverse": v for k, v in model.backward_lstm.state_dict().items()}
    reference.load_state_dict(weights)
    ids, lengths = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 10, PAD, PAD]]), torch.tensor([5, 3])
    embedded = model.embedding(ids)
    packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
    expected = pad_packed_sequence(reference(packed)[0], batch_first=True)[0]
    ahead = model.forward_lstm(embedded.transpose(0, 1))[0].transpose(0, 1)  # time-major LSTMs
    behind = model.backward_lstm(reverse_valid(embedded, lengths).transpose(0, 1))[0]
    got = torch.cat([ahead, reverse_valid(behind.transpose(0, 1), lengths)], dim=-1)
    assert torch.allclose(got[0], expected[0], atol=1e-6)
    assert torch.allclose(got[1, :3], expected[1, :3], atol=1e-6)


@pytest.mark.parametrize(("ngram_buckets", "stride"), [(0, 1), (50, 1), (50, 2), (0, 3)])
def test_score_does_not_depend_on_what_shares_the_batch(ngram_buckets: int, stride: int) -> None:
    torch.manual_seed(0)
    model = BiLSTMClassifier(20, embed_dim=8, hidden_dim=6, ngram_buckets=ngram_buckets,
                             stride=stride).eval()
    short, long = [3, 4, 5], [6, 7, 8, 9, 10, 11, 12, 13]
    alone = negative_probabilities(model, [short])
    together = negative_probabilities(model, [long, short], batch_size=2)
    assert torch.allclose(alone[0], together[1], atol=1e-6)


def test_ngram_bag_averages_the_bigrams_and_trigrams_of_real_characters() -> None:
    table = nn.Embedding(1, 3)
    with torch.no_grad():
        table.weight.fill_(2.0)
    bag = ngram_bag(torch.tensor([[3, 4, 5, PAD], [3, PAD, PAD, PAD]]), table)
    assert torch.equal(bag, torch.tensor([[2.0, 2.0, 2.0], [0.0, 0.0, 0.0]]))


def test_save_load_round_trip_gives_identical_outputs(tiny_artifact: Path) -> None:
    model, vocab, card = load_artifact(tiny_artifact)
    again, vocab_again, _ = load_artifact(tiny_artifact)
    sequences = [vocab.encode(text) for text in TEXTS]
    assert sequences == [vocab_again.encode(text) for text in TEXTS]
    assert torch.equal(negative_probabilities(model, sequences),
                       negative_probabilities(again, sequences))
    assert card["model_params"]["vocab_size"] == len(vocab)


def test_tiny_training_run_writes_a_complete_artifact(tmp_path: Path) -> None:
    config = LstmConfig(epochs=1, limit=300, hidden_dim=8, max_len=40, corpus=False)
    card = train_lstm(tmp_path, config)
    assert {p.name for p in tmp_path.iterdir()} == {"model.pt", "vocab.json", "card.json"}
    assert json.loads((tmp_path / "card.json").read_text(encoding="utf-8")) == card
    assert card["data"]["hash"] == data_hash()
    assert card["data"]["sizes"]["train"] == 300
    assert 0.0 <= card["metrics"]["test_accuracy"] <= 1.0
    assert card["hyperparameters"]["embedding_coverage"] > 0.95
    model, vocab, _ = load_artifact(tmp_path)
    assert vocab.max_len == 40
    assert model.forward_lstm.hidden_size == 8
    assert model.params == card["model_params"]
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) < 20 * 2**20


def test_stride_reads_several_characters_per_step() -> None:
    model = BiLSTMClassifier(20, embed_dim=4, hidden_dim=3, stride=2).eval()
    steps = model._steps(torch.tensor([[3, 4, 5, 6, 7]]), "forward")
    assert steps.shape == (3, 1, 8)  # time-major
    assert torch.equal(steps[1, 0, :4], model.embedding.weight[5])
    assert torch.equal(steps[2, 0, 4:], torch.zeros(4))  # the odd last character meets PAD
