"""Training-time augmentation: seeded, label-preserving, blind to labels, off by default, and
kept apart from the robustness suite it is meant to be measured by."""

from __future__ import annotations

import random
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from models.augment import (
    EMOJI,
    EMOTICONS,
    PUNCTUATION_RUNS,
    augment_pairs,
    new_ending,
    stretched,
    with_emoji,
    with_emoticon,
)
from models.data import cleaned_pairs, load_examples
from models.robustness.suite import SUITE_FILE
from models.train import LSTM_VERSION, LstmConfig, train_lstm
from pipeline.text.clean import clean

REVIEWS = cleaned_pairs(load_examples("train")[:400])


def test_same_seed_same_variants_other_seed_others() -> None:
    first = augment_pairs(REVIEWS, 0.5, seed=13)
    assert first == augment_pairs(REVIEWS, 0.5, seed=13)
    assert first != augment_pairs(REVIEWS, 0.5, seed=14)


def test_variants_keep_their_reviews_labels_and_are_cleaned() -> None:
    variants = augment_pairs(REVIEWS, 1.0, seed=13)
    assert len(variants) > 0.95 * len(REVIEWS)
    assert {label for _, _, label in variants} == {0, 1}
    texts = {text for text, _ in REVIEWS}
    for index, changed, label in variants:
        text, own = REVIEWS[index]
        assert label == own
        assert changed != text and changed not in texts
        # perturbations touch only the end; the variant is what the model reads when scoring
        assert changed[: len(text) // 2] == text[: len(text) // 2]
        assert changed == clean(changed)


def test_which_reviews_are_drawn_does_not_depend_on_their_labels() -> None:
    flipped = [(text, 1 - label) for text, label in REVIEWS]
    variants = augment_pairs(REVIEWS, 0.3, seed=13)
    assert [(i, text, 1 - label) for i, text, label in variants] == augment_pairs(flipped, 0.3, 13)
    assert 0.2 * len(REVIEWS) < len(variants) < 0.4 * len(REVIEWS)


def test_share_zero_adds_nothing_and_a_share_outside_0_1_is_refused() -> None:
    assert augment_pairs(REVIEWS, 0.0, seed=13) == []
    with pytest.raises(ValueError, match="between 0 and 1"):
        augment_pairs(REVIEWS, 1.5, seed=13)


@pytest.mark.parametrize("rule", [with_emoji, with_emoticon, stretched])
def test_marks_and_stretching_always_change_a_review(
        rule: Callable[[str, random.Random], str]) -> None:
    rng = random.Random(3)
    assert all(rule("房间很干净，服务也好。", rng) != "房间很干净，服务也好。" for _ in range(50))


def test_each_rule_does_what_it_says() -> None:
    rng = random.Random(1)
    endings = {new_ending("质量很好。", rng) for _ in range(200)}
    assert "质量很好" in endings and "质量很好！！！" in endings and "质量很好。" in endings
    assert with_emoji("质量很好", rng)[-1] in "".join(EMOJI)
    assert with_emoticon("质量很好", rng).endswith(EMOTICONS)
    assert stretched("质量很好", rng).startswith("质量很好好")


def test_the_marks_are_not_the_robustness_suites() -> None:
    """The suite must measure generalisation: none of its emoji or emoticons is trained on."""
    with SUITE_FILE.open("rb") as handle:
        suite = tomllib.load(handle)["invariance"]
    for key, ours in (("emoji", EMOJI), ("emoticons", EMOTICONS)):
        theirs = {mark for marks in suite[key].values() for mark in marks}
        assert theirs and not theirs & set(ours)
    assert "" in PUNCTUATION_RUNS  # stripping the ending is one of the perturbations


def test_tiny_training_adds_or_swaps_in_variants_only_with_augment(tmp_path: Path) -> None:
    tiny = {"epochs": 1, "limit": 300, "hidden_dim": 8, "max_len": 40, "corpus": False}
    off = train_lstm(tmp_path / "off", LstmConfig(**tiny, augment=False, augment_share=1.0))
    added = train_lstm(tmp_path / "add", LstmConfig(**tiny, augment_share=1.0,
                                                    augment_replace=False))
    swapped = train_lstm(tmp_path / "swap", LstmConfig(**tiny, augment_share=1.0))
    assert off["version"] == LSTM_VERSION + "+no-corpus+no-augment"
    assert "augmented_examples" not in off["hyperparameters"]
    assert added["version"] == LSTM_VERSION + "+no-corpus+augment-add-1"
    assert swapped["version"] == LSTM_VERSION + "+no-corpus+augment-replace-1"
    for card in (added, swapped):
        assert 280 < card["hyperparameters"]["augmented_examples"] <= 300
        assert card["data"]["sizes"] == off["data"]["sizes"]  # dev and test untouched
        assert card["model_params"] == off["model_params"]  # the vocabulary is the reviews'
    plain = train_lstm(tmp_path / "plain", LstmConfig(**tiny, augment=False))
    assert plain["metrics"] == off["metrics"]  # without augmenting the share changes nothing
    weights, again = (torch.load(tmp_path / name / "model.pt") for name in ("plain", "off"))
    assert all(torch.equal(weights[key], again[key]) for key in weights)
