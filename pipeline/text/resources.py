"""The corrector's resources: its language-model artifact and the packaged tables it reads.

The character LM is an artifact, built once by ``yuqing build corrector-lm`` (see
:mod:`models.corrector.build`) into a versioned directory, and loaded from the location the
settings name — on a cluster every worker reads the same artifact instead of rebuilding it. A
missing or outdated artifact is refused with one line that names the command. The confusion sets
and the word list ship inside the ``pycorrector`` package and are read from there.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import ArtifactMissing
from pipeline.text.lexicon import Lexicon
from pipeline.text.lm import NgramModel

LM_VERSION = "corrector-lm-1"
"""Bump when the way the LM is counted changes: a different name means a stale artifact is
refused rather than silently reused."""
LM_TABLES, LM_CARD = "lm.npz", "card.json"
BUILD_COMMAND = "yuqing build corrector-lm"


@dataclass(frozen=True)
class CorrectorParams:
    """Chosen on a synthetic dev set (``python -m devkit.tune_corrector``), never on SIGHAN."""

    order: int = 3
    build_order: int = 4
    """The artifact holds n-grams up to this order; ``order`` may use fewer."""
    dict_weight: float = 0.05
    backoff: float = 0.02
    priors: tuple[float, float, float] = (0.0, -1.0, -2.0)
    """Channel log-prior per confusion kind: same pinyin and tone, other tone, similar shape."""
    suspicion: float = -28.0
    """Only characters whose n-grams score below this (log-prob, nats) get candidates at all."""
    threshold: float = 17.0
    word_bonus: float = 4.0
    """Added to the gain of a swap that completes a dictionary word the text lacked there."""
    word_malus: float = 4.0
    """Taken from the gain of a swap that breaks a dictionary word the text had there."""
    word_min_freq: int = 5
    passes: int = 2


def lm_dir(settings: Settings) -> Path:
    """Where the job's settings say the LM artifact is: ``corrector_lm``, or the default."""
    return settings.corrector_lm or settings.artifacts_dir / LM_VERSION


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing the package (importing
    pycorrector pulls in transformers and takes seconds)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def word_frequencies() -> Iterator[tuple[str, int]]:
    """pycorrector's 584k-word frequency list: word-internal evidence from a far larger corpus."""
    path = package_file("pycorrector", "data", "word_freq.txt")
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                yield parts[0], int(parts[1])


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


def read_card(directory: Path) -> dict:
    """The artifact's card, or :class:`ArtifactMissing` naming the command that builds it."""
    card_path, tables = directory / LM_CARD, directory / LM_TABLES
    if not card_path.is_file() or not tables.is_file():
        raise ArtifactMissing(
            f"no corrector language model at {directory}: build it with `{BUILD_COMMAND}`, "
            "point YUQING_CORRECTOR_LM at one, or set YUQING_CORRECT_TEXT=false")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if card.get("version") != LM_VERSION:
        raise ArtifactMissing(
            f"the corrector language model at {directory} is {card.get('version')!r}, this code "
            f"needs {LM_VERSION!r}: rebuild it with `{BUILD_COMMAND}`")
    return card


@lru_cache(maxsize=2)
def load_model(directory: Path, params: CorrectorParams) -> NgramModel:
    """The LM artifact in ``directory``, shared by every corrector in the process."""
    card = read_card(directory)
    if card["build_order"] < params.order:
        raise ArtifactMissing(
            f"the corrector language model at {directory} has order {card['build_order']}, the "
            f"corrector needs {params.order}: rebuild it with `{BUILD_COMMAND}`")
    return NgramModel.load(directory / LM_TABLES, dict_weight=params.dict_weight,
                           order=params.order, backoff=params.backoff)


@lru_cache(maxsize=2)
def load_lexicon(directory: Path, params: CorrectorParams) -> Lexicon:
    return Lexicon(load_model(directory, params).vocab, word_frequencies(), params.word_min_freq)
