"""Operators' verdicts as extra training data: the labelled examples ``yuqing export feedback``
writes (one JSON object a line, with at least ``text`` and ``label``), added to the train split
and to nothing else.

The accuracy in a model card is an honest held-out figure only while the dev and test texts stay
unseen, and an operator can well mark a comment whose text is also a dev or test review (a
review copied across sites, or the demo site, which serves the test split). So an extra example
whose text equals a dev or test text, raw or as the model reads it after the text stage's
``clean``, is dropped and counted instead of trained on.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from models.data import load_examples
from pipeline.errors import OperatorError
from pipeline.records import Label
from pipeline.text.clean import TextRejected, clean

log = logging.getLogger(__name__)

HELD_OUT = ("dev", "test")
LABELS = tuple(label.value for label in Label)


class BadExtraData(OperatorError, ValueError):
    """An extra training file that cannot be read as labelled examples; the message names the
    file, the line and what is wrong with it."""


@dataclass(frozen=True)
class ExtraFile:
    """What one file gave: the examples trained on, and why the rest were not."""

    path: Path
    sha256: str
    pairs: tuple[tuple[str, int], ...]  # (cleaned text, class index), as models.data gives them
    held_out: int  # texts of the dev or test split: dropped, so evaluation stays unseen
    refused: int  # texts the text stage refuses (empty after cleaning, …), as scoring would

    def card(self) -> dict[str, Any]:
        """How the file is recorded in a model card: enough to find it and tell it changed."""
        return {"file": str(self.path), "sha256": self.sha256, "used": len(self.pairs),
                "dropped_held_out": self.held_out, "dropped_refused": self.refused}


@lru_cache(maxsize=1)
def held_out_texts() -> frozenset[str]:
    """Every dev and test text, raw and cleaned: what an extra example must not be."""
    texts = set()
    for split in HELD_OUT:
        for example in load_examples(split):
            texts.add(example.text)
            try:
                texts.add(clean(example.text))
            except TextRejected:
                continue
    return frozenset(texts)


def _example(line: bytes, where: str) -> tuple[str, int]:
    """(raw text, class index) of one line, or :class:`BadExtraData` saying what is wrong."""
    try:
        record = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise BadExtraData(f"{where}: not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise BadExtraData(f"{where}: not JSON ({error.msg}, column {error.colno})") from None
    if not isinstance(record, dict):
        raise BadExtraData(f"{where}: expected a JSON object with text and label, "
                           f"got {type(record).__name__}")
    text, label = record.get("text"), record.get("label")
    if not isinstance(text, str) or not text.strip():
        raise BadExtraData(f"{where}: 'text' must be a non-empty string")
    if label not in LABELS:
        raise BadExtraData(f"{where}: 'label' must be one of {', '.join(LABELS)}, not "
                           f"{json.dumps(label, ensure_ascii=False)}")
    return text, Label(label).index


def read_extra(path: Path) -> ExtraFile:
    """The usable examples of one file; a bad line fails the whole file, since a file that is
    partly wrong (another format, a wrong column) is likely wrong throughout."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BadExtraData(f"cannot read extra training data {path}: {error.strerror}") from None
    held_out, pairs, leaked, refused = held_out_texts(), [], 0, 0
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        text, label = _example(line, f"{path}:{number}")
        try:
            cleaned = clean(text)
        except TextRejected:
            refused += 1
            continue
        if text in held_out or cleaned in held_out:
            leaked += 1
            continue
        pairs.append((cleaned, label))
    found = ExtraFile(path, hashlib.sha256(data).hexdigest(), tuple(pairs), leaked, refused)
    log.info("%s: %d extra training examples; dropped %d that are dev or test texts and %d the "
             "text stage refuses", path, len(pairs), leaked, refused)
    return found


def read_extras(paths: Sequence[Path]) -> list[ExtraFile]:
    """Every file read and checked before training starts, so a bad one fails at once."""
    return [read_extra(path) for path in paths]


def extra_pairs(extras: Sequence[ExtraFile]) -> list[tuple[str, int]]:
    return [pair for extra in extras for pair in extra.pairs]
