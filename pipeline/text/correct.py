"""Offline spelling correction: confusion-set candidates ranked by a character n-gram LM.

A noisy-channel corrector. Every character that has confusable twins (same pinyin, other tone,
similar shape) proposes each twin; the LM scores the few n-grams that the swap changes, and the
swap is made only when the LM gain plus the channel prior for that kind of confusion clears a
threshold. The threshold is what keeps false alarms rare: it was chosen on a synthetic dev set
(see :mod:`pipeline.text.noise`), never on the SIGHAN test sentences. All sentences of a batch are
scored in one set of vectorised lookups, which is why throughput is far above per-sentence
Python correctors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.text.clean import EMOTICON
from pipeline.text.lm import BOUND, NgramModel
from pipeline.text.resources import CorrectorParams, load_confusions, load_model


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
        self, model: NgramModel, confusions: dict[str, dict[str, int]], params: CorrectorParams
    ) -> None:
        self.model, self.params = model, params
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
    def load(cls, params: CorrectorParams | None = None) -> Corrector:
        """The default corrector; builds the cached LM first if it is missing."""
        params = params or CorrectorParams()
        return cls(load_model(params), load_confusions(), params)

    def correct(self, text: str, protected: Iterable[str] = ()) -> Correction:
        return self.correct_batch([text], protected)[0]

    def correct_batch(self, texts: Sequence[str], protected: Iterable[str] = ()) -> list[Correction]:
        """Each text with its edits; several passes let one fix give context to the next."""
        words = [word for word in protected if word]
        current = list(texts)
        edits: list[list[Edit]] = [[] for _ in texts]
        for _ in range(self.params.passes):
            found = self._one_pass(current, words)
            if not any(found):
                break
            for index, new_edits in enumerate(found):
                chars = list(current[index])
                for edit in new_edits:
                    chars[edit.position] = edit.replacement
                current[index] = "".join(chars)
                edits[index] += new_edits
        return [
            Correction(text, tuple(sorted(_net(texts[i], text, edits[i]), key=lambda e: e.position)))
            for i, text in enumerate(current)
        ]

    def _one_pass(self, texts: Sequence[str], protected: Sequence[str]) -> list[list[Edit]]:
        reach = self.model.order - 1
        pad = np.full(reach, BOUND)
        ids, owner, editable, starts = [pad], [pad * 0 - 1], [pad < 0], []
        for index, text in enumerate(texts):
            starts.append(sum(len(part) for part in ids))
            ids += [self.model.ids(text), pad]
            owner += [np.full(len(text), index), pad * 0 - 1]
            editable += [~_frozen(text, protected), pad < 0]
        sequence, owners = np.concatenate(ids), np.concatenate(owner)
        positions = np.flatnonzero((sequence > BOUND) & np.concatenate(editable))
        counts = self._offsets[sequence[positions] + 1] - self._offsets[sequence[positions]]
        rows = np.repeat(positions, counts)
        first = np.repeat(self._offsets[sequence[positions]] - np.cumsum(counts) + counts, counts)
        picks = first + np.arange(len(rows))
        gains = self._local_scores(sequence, rows, self._candidates[picks]) + self._priors[picks]
        gains -= self._local_scores(sequence, positions, sequence[positions])[
            np.repeat(np.arange(len(positions)), counts)
        ]
        result: list[list[Edit]] = [[] for _ in texts]
        order = np.argsort(-gains, kind="stable")
        taken: dict[int, list[int]] = {}
        for row in order[gains[order] > self.params.threshold]:
            position, text_index = int(rows[row]), int(owners[rows[row]])
            nearby = taken.setdefault(text_index, [])
            if any(abs(position - other) <= reach for other in nearby):
                continue
            nearby.append(position)
            offset = position - starts[text_index]
            replacement = self._chars[int(self._candidates[picks[row]])]
            result[text_index].append(
                Edit(offset, texts[text_index][offset], replacement, float(gains[row]))
            )
        return result

    def _local_scores(self, sequence: np.ndarray, rows: np.ndarray, chars: np.ndarray) -> np.ndarray:
        """LM log-probability of the n-grams that touch each row's position, with its char swapped."""
        order = self.model.order
        view = np.lib.stride_tricks.sliding_window_view(sequence, 2 * order - 1)
        windows = view[rows - order + 1].copy()
        windows[:, order - 1] = chars
        return sum(self.model.logprob(windows[:, t : t + order]) for t in range(order))


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


def _net(original: str, corrected: str, edits: list[Edit]) -> list[Edit]:
    """Edits of later passes may undo earlier ones; report only what changed in the end."""
    latest = {edit.position: edit for edit in edits}
    return [
        Edit(p, original[p], e.replacement, e.gain) for p, e in latest.items() if original[p] != corrected[p]
    ]
