"""An open-addressing hash table over ``uint64`` keys, probed for many keys at once in numpy.

A sorted-array ``searchsorted`` costs ~21 cache misses per lookup in a table of a million
n-grams; a table at most half full costs one or two. The corrector looks up tens of thousands of
n-grams per second per core, so this is where its speed comes from.
"""

from __future__ import annotations

import numpy as np

EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


class HashTable:
    """Immutable map from distinct ``uint64`` keys to ``float32`` values."""

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        self._bits = max(4, int(np.ceil(np.log2(max(len(keys), 1) * 2.5))))
        self._mask = np.uint64((1 << self._bits) - 1)
        self._keys = np.full(1 << self._bits, EMPTY, dtype=np.uint64)
        self._values = np.zeros(1 << self._bits, dtype=np.float32)
        pending = np.arange(len(keys))
        slots = self._home(keys)
        while len(pending):
            free = self._keys[slots] == EMPTY
            claimed, first = np.unique(slots[free], return_index=True)
            winners = pending[free][first]
            self._keys[claimed] = keys[winners]
            self._values[claimed] = values[winners]
            placed = np.zeros(len(pending), dtype=bool)
            placed[np.flatnonzero(free)[first]] = True
            pending, slots = pending[~placed], (slots[~placed] + np.uint64(1)) & self._mask

    def _home(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (keys * _MULTIPLIER) >> np.uint64(64 - self._bits)

    def get(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(found, values)`` for each query; values of keys not found are 0."""
        found = np.zeros(len(queries), dtype=bool)
        values = np.zeros(len(queries), dtype=np.float32)
        pending = np.arange(len(queries))
        slots = self._home(queries)
        while len(pending):
            stored = self._keys[slots]
            hit = stored == queries[pending]
            found[pending[hit]] = True
            values[pending[hit]] = self._values[slots[hit]]
            going_on = ~hit & (stored != EMPTY)
            pending, slots = pending[going_on], (slots[going_on] + np.uint64(1)) & self._mask
        return found, values
