"""Offline spelling correction: confusion-set candidates ranked by a character n-gram LM.

A noisy-channel corrector. Every character that has confusable twins (same pinyin, other tone,
similar shape) proposes each twin; the LM scores the few n-grams that the swap changes, and the
swap is made only when the LM gain plus the channel prior for that kind of confusion clears a
threshold. The threshold is what keeps false alarms rare: it was chosen on a synthetic dev set
(see :mod:`models.corrector.noise`), never on the SIGHAN test sentences. All sentences of a batch
are scored in one set of vectorised lookups, which is why throughput is far above per-sentence
Python correctors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.text.clean import EMOTICON
from pipeline.text.lexicon import MAX_WORD, Lexicon
from pipeline.text.lm import BOUND, NgramModel
from pipeline.text.resources import CorrectorParams, confusion_sets, load_lexicon, load_model


@dataclass(frozen=True)
class Edit:
    position: int
    original: str
    replacement: str
    gain: float


@dataclass(frozen=True)
class Correction:
    text: str
    edits: tuple[Edit, ...]


class Corrector:
    """Corrects a batch of texts; protected terms (brands, products) are never touched."""

    def __init__(
        self,
        model: NgramModel,
        lexicon: Lexicon,
        confusions: dict[str, dict[str, int]],
        params: CorrectorParams,
    ) -> None:
        self.model, self.lexicon, self.params = model, lexicon, params
        self._chars = {index: char for char, index in model.vocab.items()}
        offsets, candidates, kinds = [0], [], []
        for index in range(max(model.vocab.values()) + 1):
            twins = confusions.get(self._chars.get(index, ""), {})
            known = [(model.vocab[c], kind) for c, kind in twins.items() if c in model.vocab]
            candidates += [c for c, _ in known]
            kinds += [kind for _, kind in known]
            offsets.append(len(candidates))
        self._offsets = np.array(offsets)
        self._candidates = np.array(candidates, dtype=np.int64)
        self._priors = np.array(params.priors, dtype=np.float32)[np.array(kinds, dtype=np.int64)]

    @classmethod
    def load(cls, lm_dir: Path, params: CorrectorParams | None = None) -> Corrector:
        """The corrector over the LM artifact in ``lm_dir`` (see ``resources.lm_dir``)."""
        params = params or CorrectorParams()
        return cls(load_model(lm_dir, params), load_lexicon(lm_dir, params), confusion_sets(),
                   params)

    def correct(self, text: str, protected: Iterable[str] = ()) -> Correction:
        return self.correct_batch([text], protected)[0]

    def correct_batch(
        self, texts: Sequence[str], protected: Iterable[str] = ()
    ) -> list[Correction]:
        """Each text with its edits; several passes let one fix give context to the next."""
        words = [word for word in protected if word]
        current = list(texts)
        edits: list[list[Edit]] = [[] for _ in texts]
        pending = list(range(len(texts)))
        for _ in range(self.params.passes):
            if not pending:
                break
            found = self._one_pass([current[i] for i in pending], words)
            pending = [index for index, new_edits in zip(pending, found, strict=True) if new_edits]
            for index, new_edits in zip(pending, [f for f in found if f], strict=True):
                chars = list(current[index])
                for edit in new_edits:
                    chars[edit.position] = edit.replacement
                current[index] = "".join(chars)
                edits[index] += new_edits
        return [
            Correction(text, tuple(sorted(_net(texts[i], text, edits[i]), key=_position)))
            for i, text in enumerate(current)
        ]

    def _one_pass(self, texts: Sequence[str], protected: Sequence[str]) -> list[list[Edit]]:
        """Score every twin of every suspicious character of every text in one go."""
        pad = np.full(max(self.model.order, MAX_WORD), BOUND)
        ids, owner, editable, starts = [pad], [np.full(len(pad), -1)], [pad < 0], []
        position = len(pad)
        for index, text in enumerate(texts):
            starts.append(position)
            position += len(text) + len(pad)
            ids += [self.model.ids(text), pad]
            owner += [np.full(len(text), index), np.full(len(pad), -1)]
            editable += [~_frozen(text, protected), pad < 0]
        sequence, owners = np.concatenate(ids), np.concatenate(owner)
        positions = np.flatnonzero((sequence > BOUND) & np.concatenate(editable))
        has_twins = self._offsets[sequence[positions] + 1] > self._offsets[sequence[positions]]
        positions = positions[has_twins]
        as_written = self._local_scores(sequence, positions, sequence[positions])
        suspicious = as_written < self.params.suspicion
        positions, as_written = positions[suspicious], as_written[suspicious]
        counts = self._offsets[sequence[positions] + 1] - self._offsets[sequence[positions]]
        rows = np.repeat(positions, counts)
        first = np.repeat(self._offsets[sequence[positions]] - np.cumsum(counts) + counts, counts)
        picks = first + np.arange(len(rows))
        twins = self._candidates[picks]
        gains = self._local_scores(sequence, rows, twins) + self._priors[picks]
        gains -= np.repeat(as_written, counts)
        gains += self._word_evidence(sequence, rows, twins, gains)
        result: list[list[Edit]] = [[] for _ in texts]
        for row in self._best_rows(rows, owners[rows], gains):
            index = int(owners[rows[row]])
            offset = int(rows[row]) - starts[index]
            replacement = self._chars[int(twins[row])]
            result[index].append(Edit(offset, texts[index][offset], replacement, float(gains[row])))
        return result

    def _best_rows(self, rows: np.ndarray, owners: np.ndarray, gains: np.ndarray) -> list[int]:
        """Rows over the threshold, best first, at most one among n-gram neighbours: two edits
        that share an n-gram were each scored against the other's error, so only the stronger
        one is trusted now and the next pass re-scores the other in corrected context."""
        reach = self.model.order - 1
        chosen: list[int] = []
        taken: dict[int, list[int]] = {}
        order = np.argsort(-gains, kind="stable")
        for row in order[gains[order] > self.params.threshold]:
            nearby = taken.setdefault(int(owners[row]), [])
            if all(abs(int(rows[row]) - other) > reach for other in nearby):
                nearby.append(int(rows[row]))
                chosen.append(int(row))
        return chosen

    def _word_evidence(
        self, sequence: np.ndarray, rows: np.ndarray, chars: np.ndarray, gains: np.ndarray
    ) -> np.ndarray:
        """A bonus for swaps that turn a broken word into a word, a malus for breaking one.

        Only rows that could cross the threshold are looked up; the rest get nothing.
        """
        bonus = np.zeros(len(rows), dtype=np.float32)
        near = np.flatnonzero(gains > self.params.threshold - self.params.word_bonus)
        fixes = self.lexicon.covered(sequence, rows[near], chars[near])
        was_word = self.lexicon.covered(sequence, rows[near], sequence[rows[near]])
        bonus[near] = np.where(fixes & ~was_word, self.params.word_bonus, 0.0) - np.where(
            was_word & ~fixes, self.params.word_malus, 0.0
        )
        return bonus

    def _local_scores(
        self, sequence: np.ndarray, rows: np.ndarray, chars: np.ndarray
    ) -> np.ndarray:
        """LM log-probability of the n-grams touching each row's position, its char swapped."""
        order = self.model.order
        view = np.lib.stride_tricks.sliding_window_view(sequence, 2 * order - 1)
        windows = view[rows - order + 1].copy()
        windows[:, order - 1] = chars
        terms = np.concatenate([windows[:, t : t + order] for t in range(order)])
        return self.model.logprob(terms).reshape(order, len(rows)).sum(axis=0)


def _frozen(text: str, protected: Sequence[str]) -> np.ndarray:
    """Character positions inside protected terms or emoticons, which must stay as written."""
    mask = np.zeros(len(text), dtype=bool)
    for match in EMOTICON.finditer(text):
        mask[match.start() : match.end()] = True
    folded = text.casefold()
    for word in protected:
        start = folded.find(word.casefold())
        while start >= 0:
            mask[start : start + len(word)] = True
            start = folded.find(word.casefold(), start + 1)
    return mask


def _position(edit: Edit) -> int:
    return edit.position


def _net(original: str, corrected: str, edits: list[Edit]) -> list[Edit]:
    """Edits of later passes may undo earlier ones; report only what changed in the end."""
    latest = {edit.position: edit for edit in edits}
    return [
        Edit(p, original[p], e.replacement, e.gain)
        for p, e in latest.items()
        if original[p] != corrected[p]
    ]
