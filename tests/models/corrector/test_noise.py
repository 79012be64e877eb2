from __future__ import annotations

import random

from models.corrector.noise import dev_pairs, with_errors, with_homophones
from pipeline.text.resources import confusion_sets

TEXT = "这家酒店的服务很好房间也很干净下次还会再来住" * 20


def test_errors_come_from_the_confusion_sets() -> None:
    confusions = confusion_sets()
    noisy = with_errors(TEXT, 5, random.Random(1), confusions)
    changed = [(a, b) for a, b in zip(TEXT, noisy, strict=True) if a != b]
    assert 1 <= len(changed) <= 5
    assert all(b in confusions[a] for a, b in changed)


def test_homophones_only_and_at_about_the_rate() -> None:
    confusions = confusion_sets()
    noisy = with_homophones(TEXT, 0.1, random.Random(2), confusions)
    changed = [(a, b) for a, b in zip(TEXT, noisy, strict=True) if a != b]
    assert all(confusions[a][b] in (0, 1) for a, b in changed)
    eligible = sum(1 for c in TEXT if any(k < 2 for k in confusions.get(c, {}).values()))
    assert 0.05 * eligible < len(changed) < 0.15 * eligible


def test_noise_is_reproducible_from_its_seed() -> None:
    confusions = confusion_sets()
    first = with_homophones(TEXT, 0.1, random.Random(3), confusions)
    assert first == with_homophones(TEXT, 0.1, random.Random(3), confusions)


def test_dev_pairs_mix_clean_and_damaged_sentences() -> None:
    pairs = dev_pairs(sources=("reviews",))
    damaged = sum(source != target for source, target in pairs)
    assert 0.3 < damaged / len(pairs) < 0.6
    assert all(len(source) == len(target) for source, target in pairs)
