"""Build the corrector's character LM into a versioned artifact: ``yuqing build corrector-lm``.

The counts come from packaged text only (:mod:`models.corrector.corpus`) and pycorrector's word
list, so a build is reproducible anywhere. The artifact is a directory holding the n-gram tables
(``lm.npz``) and a card (``card.json``) with the version the runtime checks, the order, what was
counted and how long it took; the stream job loads it from the configured location
(:func:`pipeline.text.resources.lm_dir`) and never builds it itself.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

import numpy as np

from models.corrector import corpus
from models.data import data_hash
from pipeline.text.lm import BITS, BOUND, UNK, fold_classes, pack
from pipeline.text.resources import LM_CARD, LM_TABLES, LM_VERSION, word_frequencies

log = logging.getLogger(__name__)
BUILD_ORDER = 4


def build_lm(
    directory: Path,
    order: int = BUILD_ORDER,
    max_sentences: int | None = None,
    sources: tuple[str, ...] = corpus.SOURCES,
) -> Path:
    """Count the packaged text into the artifact ``directory``; ``max_sentences`` makes a small
    LM for tests. The directory is written beside and renamed into place, so a reader never sees
    half an artifact."""
    started = time.perf_counter()
    sentences = list(islice(corpus.training_sentences(sources), max_sentences))
    clauses = [clause for sentence in sentences for clause in corpus.clauses(sentence)]
    tables = build_tables(clauses, word_frequencies(), order)
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    np.savez(partial / LM_TABLES, **tables)
    card = {
        "version": LM_VERSION, "build_order": order, "sources": list(sources),
        "sentences": len(sentences), "clauses": len(clauses), "data_hash": data_hash(),
        "build_seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    (partial / LM_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(directory, ignore_errors=True)
    partial.rename(directory)
    log.info("built %s from %d clauses in %.0f s", directory, len(clauses), card["build_seconds"])
    return directory


def ngram_keys(ids: np.ndarray, order: int, *, edges: bool) -> tuple[np.ndarray, np.ndarray]:
    """Keys and start positions of the n-grams of ``ids`` that do not straddle a boundary.

    With ``edges`` an n-gram may begin or end on a boundary (sentence start and end are context
    in running text); without, it must lie wholly inside one word.
    """
    length = len(ids) - order + 1
    columns = [ids[i : i + length] for i in range(order)]
    keep = np.ones(length, dtype=bool)
    for column in columns[1:-1] if edges else columns:
        keep &= column != BOUND
    if edges and order == 1:
        keep = columns[0] != BOUND
    return pack(columns)[keep], np.flatnonzero(keep)


def count(keys: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse, weights=weights, minlength=len(unique))




def build_tables(
    clauses: Iterable[str], words: Iterable[tuple[str, int]], order: int
) -> dict[str, np.ndarray]:
    """Count n-grams of running-text clauses and, separately, of frequency-weighted words."""
    clause_list = [fold_classes(clause) for clause in clauses]
    word_list = [(w, f) for w, f in words if w and all("\u4e00" <= c <= "\u9fff" for c in w)]
    frequency: dict[str, int] = {}
    for text in (*clause_list, *(word for word, _ in word_list)):
        for char in text:
            frequency[char] = frequency.get(char, 0) + 1
    chars = sorted(frequency, key=lambda c: (-frequency[c], c))[: (1 << BITS) - 2]
    vocab = {c: i + 2 for i, c in enumerate(chars)}
    text_ids = _framed(clause_list, vocab)
    word_ids = _framed([word for word, _ in word_list], vocab)
    word_freq = np.repeat(
        [0.0] + [float(f) for _, f in word_list], [1] + [len(w) + 1 for w, _ in word_list]
    )
    tables: dict[str, np.ndarray] = {"order": np.array(order), "chars": np.array("".join(chars))}
    for n in range(1, order + 1):
        text_keys, text_counts = count(ngram_keys(text_ids, n, edges=True)[0])
        keys_in_words, starts = ngram_keys(word_ids, n, edges=False)
        dict_keys, dict_counts = count(keys_in_words, word_freq[starts])
        keys = np.union1d(text_keys, dict_keys)
        tables[f"keys{n}"] = keys
        tables[f"text{n}"] = _spread(keys, text_keys, text_counts)
        tables[f"dict{n}"] = _spread(keys, dict_keys, dict_counts)
    return tables


def _framed(texts: list[str], vocab: dict[str, int]) -> np.ndarray:
    """All texts in one id array, each followed by a boundary, with one boundary in front."""
    ids = [BOUND]
    for text in texts:
        ids.extend(vocab.get(char, UNK) for char in text)
        ids.append(BOUND)
    return np.array(ids, dtype=np.int64)


def _spread(keys: np.ndarray, subset: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Counts of ``subset`` placed at their positions in the sorted superset ``keys``."""
    spread = np.zeros(len(keys), dtype=np.float32)
    spread[np.searchsorted(keys, subset)] = counts
    return spread
