"""Synthetic typos drawn from the same confusion sets the corrector uses.

Two uses, both seeded so every figure is reproducible: the development set the corrector's
thresholds are chosen on (a few errors per sentence, mixed kinds, like SIGHAN's learner essays),
and the downstream benchmark (homophones at a fixed rate, like deliberate filter-dodging).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from models.corrector import corpus
from pipeline.text.resources import confusion_sets

KIND_WEIGHTS = (0.5, 0.25, 0.25)
"""How often a dev typo is a same-tone homophone, an other-tone homophone, a look-alike."""


def _swap(char: str, kinds: Sequence[int], rng: random.Random, confusions: dict) -> str:
    """A twin drawn by its frequency: an input method offers common characters first, so real
    typos are common characters that half fit, not rare ones that stick out."""
    twins = [twin for twin, kind in confusions.get(char, {}).items() if kind in kinds]
    frequency = corpus.char_frequencies()
    weights = [frequency.get(twin, 0) + 1 for twin in twins]
    return rng.choices(twins, weights)[0] if twins else char


def with_errors(text: str, count: int, rng: random.Random, confusions: dict) -> str:
    """``text`` with up to ``count`` characters swapped for a confusable twin."""
    chars = list(text)
    positions = [i for i, char in enumerate(chars) if confusions.get(char)]
    for position in rng.sample(positions, min(count, len(positions))):
        kind = rng.choices(range(len(KIND_WEIGHTS)), KIND_WEIGHTS)[0]
        chars[position] = _swap(chars[position], (kind,), rng, confusions) or chars[position]
    return "".join(chars)


def with_homophones(text: str, rate: float, rng: random.Random, confusions: dict) -> str:
    """Each position that has a same-pinyin twin is swapped with probability ``rate``."""
    return "".join(
        _swap(char, (0, 1), rng, confusions) if rng.random() < rate else char for char in text
    )


def dev_pairs(
    seed: int = 0, error_share: float = 0.5, sources: tuple[str, ...] = corpus.SOURCES
) -> list[tuple[str, str]]:
    """(source, target) sentences of 8–80 characters of held-out text, about half with errors."""
    rng, confusions = random.Random(seed), confusion_sets()
    pairs = []
    for sentence in corpus.holdout_sentences(sources):
        for part in re.split(r"(?<=[。！？!?])", sentence):
            if 8 <= len(part) <= 80:
                errors = rng.choice((1, 1, 2)) if rng.random() < error_share else 0
                pairs.append((with_errors(part, errors, rng, confusions), part))
    return pairs
