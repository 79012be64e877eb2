from __future__ import annotations

import sys

import numpy as np
import pytest

from models.corrector.build import build_tables
from pipeline.text.hashing import HashTable
from pipeline.text.lm import BOUND, UNK, NgramModel, fold_classes


def test_hash_table_finds_every_key_and_nothing_else() -> None:
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 2**63, 5000, dtype=np.uint64))
    values = rng.random(len(keys)).astype(np.float32)
    table = HashTable(keys, values)
    found, got = table.get(keys)
    assert found.all()
    assert np.array_equal(got, values)
    absent = np.setdiff1d(rng.integers(0, 2**63, 5000, dtype=np.uint64), keys)
    assert not table.get(absent)[0].any()


def _toy(dict_weight: float = 0.0) -> NgramModel:
    tables = build_tables(["甲乙丙", "甲乙丁", "甲丙"], [("丙丁", 10)], order=2)
    vocab = {c: i + 2 for i, c in enumerate(str(tables["chars"]))}
    return NgramModel(vocab, tables, dict_weight=dict_weight, order=2, backoff=0.1)


def _logp(model: NgramModel, previous: str, char: str) -> float:
    ids = model.ids(previous + char)
    return float(model.logprob(ids.reshape(1, 2))[0])


def test_seen_bigrams_get_their_relative_frequency() -> None:
    model = _toy()
    assert _logp(model, "甲", "乙") == pytest.approx(np.log(2 / 3))
    assert _logp(model, "乙", "丙") == pytest.approx(np.log(1 / 2))


def test_unseen_bigrams_back_off_to_the_unigram_with_a_penalty() -> None:
    model = _toy()
    assert _logp(model, "乙", "甲") == pytest.approx(np.log(0.1) + np.log(3 / 8))
    assert _logp(model, "丁", "丙") == pytest.approx(np.log(0.1) + np.log(2 / 8))
    assert _logp(model, "甲", "甲") < _logp(model, "甲", "乙")


def test_dictionary_words_add_their_weighted_counts() -> None:
    assert _logp(_toy(0.0), "丙", "丁") < _logp(_toy(1.0), "丙", "丁")


def test_non_chinese_characters_are_boundaries_and_digits_fold() -> None:
    model = _toy()
    assert model.ids("甲,1")[1] == BOUND
    assert model.ids("12")[0] == model.ids("9")[0]


def test_every_code_point_gets_the_id_folding_gives_it() -> None:
    """ids() looks code points up in a table; it must agree with folding then looking up, for
    every character there is (lone surrogates, which a JSON escape can carry, included)."""
    tables = build_tables(["甲乙0a", "丙1b"], [], order=2)
    vocab = {c: i + 2 for i, c in enumerate(str(tables["chars"]))}
    model = NgramModel(vocab, tables, dict_weight=0.0, order=2, backoff=0.1)
    text = "".join(map(chr, range(sys.maxunicode + 1)))
    in_clause = [("\u4e00" <= char <= "\u9fff" or char in "0a") for char in fold_classes(text)]
    expected = [vocab.get(char, UNK) if clause else BOUND
                for char, clause in zip(fold_classes(text), in_clause, strict=True)]
    assert model.ids(text).tolist() == expected
