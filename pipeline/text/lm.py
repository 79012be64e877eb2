"""A character n-gram language model held in sorted numpy tables, scored many queries at a time.

Keys pack up to four 16-bit character ids into one ``uint64``; tables are stored sorted
(compact, easy to merge; :mod:`models.corrector.build` counts them) and loaded into
:class:`HashTable` so that the corrector can score every candidate of many sentences in a few
vectorised probes. Counts come from two sources kept apart on disk: running text, and the inside
of dictionary words weighted by their corpus frequency. The mix (``dict_weight``) is applied at
load time, so it can be chosen on the dev set without a rebuild. Scoring is stupid backoff
(Brants et al. 2007): good enough to rank candidates, and cheap. Its backoff factor is far below
the usual 0.4 because the corrector must trust an n-gram it has seen much more than a shorter
one: on a dev set whose domain the LM never saw, 0.02 beat 0.4.
"""

from __future__ import annotations

import string
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.text.hashing import HashTable

UNK, BOUND = 0, 1
BITS = 16


def pack(columns: list[np.ndarray]) -> np.ndarray:
    """One key per row from the id columns of an n-gram, first character in the high bits."""
    key = np.zeros(columns[0].shape, dtype=np.uint64)
    for column in columns:
        key = (key << np.uint64(BITS)) | column.astype(np.uint64)
    return key


class NgramModel:
    """Log-probabilities of characters given up to ``order - 1`` previous ones."""

    def __init__(
        self,
        vocab: dict[str, int],
        tables: dict[str, np.ndarray],
        *,
        dict_weight: float,
        order: int,
        backoff: float,
    ) -> None:
        self.vocab = vocab
        self._backoff = float(np.log(backoff))
        self.order = min(order, int(tables["order"]))
        self._tables: list[HashTable] = []
        previous_keys, previous_counts = np.zeros(1, np.uint64), np.zeros(1)
        for n in range(1, self.order + 1):
            keys = tables[f"keys{n}"]
            counts = tables[f"text{n}"] + dict_weight * tables[f"dict{n}"]
            if n == 1:
                context = np.full(len(keys), counts.sum())
            else:
                where = np.searchsorted(previous_keys, keys >> np.uint64(BITS))
                context = previous_counts[np.minimum(where, len(previous_keys) - 1)]
            seen = counts > 0  # with dict_weight 0, dictionary-only n-grams have no count
            logp = np.log(counts[seen] / np.maximum(context[seen], counts[seen]))
            self._tables.append(HashTable(keys[seen], logp.astype(np.float32)))
            previous_keys, previous_counts = keys, counts
        self._unseen = float(np.log(0.5 / float(counts_total(tables, dict_weight))))
        self._id_of = _id_table(vocab)

    @classmethod
    def load(cls, path: Path, *, dict_weight: float, order: int, backoff: float) -> NgramModel:
        with np.load(path, allow_pickle=False) as tables:
            vocab = {c: i + 2 for i, c in enumerate(str(tables["chars"]))}
            return cls(
                vocab, dict(tables.items()), dict_weight=dict_weight, order=order, backoff=backoff
            )

    def ids(self, text: str) -> np.ndarray:
        """One id per character of ``text``; anything outside a clause becomes a boundary.

        Looked up per code point in one numpy step: character by character in Python, this was
        a third of the corrector's time.
        """
        code_points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return self._id_of[code_points].astype(np.int64)

    def logprob(self, windows: np.ndarray) -> np.ndarray:
        """log P(last column | previous columns) for each row of an (rows, order) id matrix.

        The longest n-gram that was seen wins; each step down to a shorter context costs
        the backoff penalty, and only the rows still unresolved are probed at the next order.
        """
        result = np.full(len(windows), self._unseen, dtype=np.float32)
        pending = np.arange(len(windows))
        for n in range(self.order, 0, -1):
            queries = pack([windows[pending, j] for j in range(self.order - n, self.order)])
            found, logp = self._tables[n - 1].get(queries)
            result[pending[found]] = logp[found] + np.float32(self._backoff * (self.order - n))
            pending = pending[~found]
            if not len(pending):
                break
        return result


def counts_total(tables: dict[str, np.ndarray], dict_weight: float) -> float:
    return float(tables["text1"].sum() + dict_weight * tables["dict1"].sum())


def _id_table(vocab: dict[str, int]) -> np.ndarray:
    """The id of every code point: after :func:`fold_classes`, an ideograph or a folded digit or
    Latin letter is looked up (unknown ones are ``UNK``); anything else ends a clause."""
    table = np.full(sys.maxunicode + 1, BOUND, dtype=np.int32)
    table[0x4E00:0xA000] = UNK
    for char, index in vocab.items():
        if len(char) == 1 and "\u4e00" <= char <= "\u9fff":
            table[ord(char)] = index
    table[[ord(letter) for letter in string.ascii_letters]] = vocab.get("a", UNK)
    table[_digits()] = vocab.get("0", UNK)
    return table


@lru_cache(maxsize=1)
def _digits() -> np.ndarray:
    """Every code point ``str.isdigit`` holds a digit, in any script."""
    return np.array([point for point in range(sys.maxunicode + 1) if chr(point).isdigit()])


def fold_classes(text: str) -> str:
    """Digits and Latin letters matter to the LM only as "a number" or "a foreign word"."""
    return "".join(
        "0" if c.isdigit() else ("a" if c.isascii() and c.isalpha() else c) for c in text
    )
