"""Is a character part of a dictionary word where it stands?

Typos usually break a word (``朋唷``) and their fixes usually make one (``朋友``); a correct but
unusual character usually sits inside a word the LM has rarely seen. The corrector uses this as
evidence beside the LM, and it transfers across domains far better than n-gram counts do,
because the 584k-word list covers general vocabulary rather than one newspaper.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from pipeline.text.hashing import HashTable
from pipeline.text.lm import pack

MAX_WORD = 4


class Lexicon:
    """Multi-character words (2–``MAX_WORD`` characters) in the LM's id space."""

    def __init__(
        self, vocab: dict[str, int], words: Iterable[tuple[str, int]], min_freq: int
    ) -> None:
        by_length: dict[int, list[list[int]]] = {n: [] for n in range(2, MAX_WORD + 1)}
        for word, freq in words:
            if 2 <= len(word) <= MAX_WORD and freq >= min_freq and all(c in vocab for c in word):
                by_length[len(word)].append([vocab[c] for c in word])
        keys = np.unique(
            np.concatenate(
                [
                    pack(list(np.array(rows, dtype=np.int64).reshape(-1, n).T))
                    for n, rows in by_length.items()
                ]
            )
        )
        self._table = HashTable(keys, np.ones(len(keys), np.float32))

    def covered(self, sequence: np.ndarray, rows: np.ndarray, chars: np.ndarray) -> np.ndarray:
        """Whether ``chars`` placed at ``rows`` of ``sequence`` completes some dictionary word.

        ``sequence`` must have at least ``MAX_WORD - 1`` padding ids on either side.
        """
        view = np.lib.stride_tricks.sliding_window_view(sequence, 2 * MAX_WORD - 1)
        windows = view[rows - MAX_WORD + 1].copy()
        windows[:, MAX_WORD - 1] = chars
        keys = [
            pack([windows[:, j] for j in range(start, start + length)])
            for length in range(2, MAX_WORD + 1)
            for start in range(MAX_WORD - length, MAX_WORD)
        ]
        found = self._table.get(np.concatenate(keys))[0]
        return found.reshape(len(keys), len(rows)).any(axis=0)
