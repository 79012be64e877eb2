"""The robustness suite expanded into test cases: invariance, directional, minimum functionality.

The sentences, templates and word lists live in ``suite.toml`` beside this module, written by
the Yuqing team. Expansion is deterministic: every random choice comes from a generator seeded
with the suite's seed and the test's name, so one suite version always yields the same cases,
and adding a test never reshuffles another.
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from models.robustness import perturb
from pipeline.records import Label

SUITE_FILE = Path(__file__).resolve().parent / "suite.toml"


class Kind(StrEnum):
    INVARIANCE = "INV"
    DIRECTIONAL = "DIR"
    MINIMUM = "MFT"


@dataclass(frozen=True)
class Case:
    text: str
    """What is scored and judged."""
    original: str | None = None
    """INV and DIR: the unperturbed text the score of ``text`` is compared with."""
    expected: Label | None = None
    """MFT: the right label. DIR: the label the score must move towards."""


@dataclass(frozen=True)
class BehaviourTest:
    name: str
    kind: Kind
    description: str
    cases: tuple[Case, ...]


@dataclass(frozen=True)
class Base:
    """A base sentence with its brand filled in; ``brand`` and ``domain`` drive the swaps."""

    text: str
    label: Label
    domain: str
    brand: str


@dataclass(frozen=True)
class Suite:
    version: str
    margin: float
    tests: tuple[BehaviourTest, ...]

    @property
    def cases(self) -> int:
        return sum(len(test.cases) for test in self.tests)


def load_suite(path: Path = SUITE_FILE) -> Suite:
    """Read ``path`` and expand every test."""
    return _expand(_read(path))


@lru_cache(maxsize=4)
def _read(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _expand(spec: dict[str, Any]) -> Suite:
    seed = spec["seed"]

    def rng(name: str) -> random.Random:
        return random.Random(f"{seed}/{name}")  # a str seed hashes the same in every process

    bases = _bases(spec, rng("brands"))
    templated = _templated(spec, rng)
    per_domain = spec["invariance"]["short_per_domain"]
    short = [base for name in spec["invariance"]["short_from"]
             for domain in spec["brands"]
             for base in [base for base in templated[name] if base.domain == domain][:per_domain]]
    tests = [
        BehaviourTest("reviews", Kind.MINIMUM, "the base sentences as written",
             tuple(Case(base.text, expected=base.label) for base in bases)),
        *_invariance(spec, bases + short, rng),
        *_directional(spec, bases, rng),
        *(BehaviourTest(name, Kind.MINIMUM, spec["mft"]["tests"][name]["description"],
               tuple(Case(base.text, expected=base.label) for base in filled))
          for name, filled in templated.items()),
    ]
    return Suite(spec["version"], spec["margin"], tuple(tests))


def _bases(spec: dict[str, Any], rng: random.Random) -> list[Base]:
    bases = []
    for domain, labelled in spec["base"].items():
        for label in (Label.POSITIVE, Label.NEGATIVE):
            for template in labelled[label.value]:
                brand = rng.choice(spec["brands"][domain])
                bases.append(Base(template.format(brand=brand), label, domain, brand))
    return bases


def _invariance(spec: dict[str, Any], bases: list[Base],
                rng: Callable[[str], random.Random]) -> Iterator[BehaviourTest]:
    rules = spec["invariance"]

    def test(name: str, description: str,
             variants: Callable[[Base, random.Random], list[str]]) -> BehaviourTest:
        generator = rng(name)
        cases = [Case(variant, original=base.text)
                 for base in bases for variant in variants(base, generator)
                 if variant != base.text]  # a rule that changes nothing here makes no case
        return BehaviourTest(name, Kind.INVARIANCE, description, tuple(cases))

    def matching(key: str, count: int) -> Callable[[Base, random.Random], list[str]]:
        return lambda base, r: [perturb.append(base.text, mark)
                                for mark in r.sample(rules[key][base.label.value], count)]

    def other_brands(base: Base, r: random.Random) -> list[str]:
        others = [brand for brand in spec["brands"][base.domain] if brand != base.brand]
        return [perturb.swap(base.text, base.brand, new)
                for new in r.sample(others, rules["brand_swaps"])]

    def link_and_mention(base: Base, r: random.Random) -> list[str]:
        mention = r.choice(rules["mentions"]).format(brand=base.brand)
        return [perturb.append(base.text, r.choice(rules["urls"])),
                perturb.prepend(base.text, mention)]

    yield test("punctuation_runs", "the ending replaced by ！, ！！！, ～～ or 。。。",
               lambda base, _: [perturb.end_with(base.text, run)
                                for run in rules["punctuation_runs"]])
    yield test("emoji", "an emoji of the same sentiment added",
               matching("emoji", rules["emoji_per_sentence"]))
    yield test("emoticons", "a bracketed site emoticon ([赞], [怒]) of the same sentiment added",
               matching("emoticons", rules["emoticons_per_sentence"]))
    yield test("stretched", "the last character stretched (了 → 了了了了)",
               lambda base, r: [perturb.stretch(base.text, r.choice(rules["stretch_times"]))])
    yield test("traditional", "written in traditional characters",
               lambda base, _: [perturb.traditional(base.text)])
    yield test("full_width", "ASCII letters and digits in full-width forms",
               lambda base, _: [perturb.full_width(base.text)])
    yield test("brand_swap", "the brand swapped for another of the same domain", other_brands)
    yield test("url_mention", "a URL added after, an @mention before", link_and_mention)


def _directional(spec: dict[str, Any], bases: list[Base],
                 rng: Callable[[str], random.Random]) -> Iterator[BehaviourTest]:
    rules = spec["directional"]
    generator = rng("negation")
    negations = []
    for template in rules["negation"]:
        label = Label(template["label"])
        for brand in generator.sample(spec["brands"][template["domain"]],
                                      rules["brands_per_template"]):
            original = template["text"].format(brand=brand, neg="")
            negations += [Case(template["text"].format(brand=brand, neg=negator), original,
                               _opposite(label))
                          for negator in rules["negators"][template["slot"]]]
    yield BehaviourTest("negation", Kind.DIRECTIONAL,
               "不, 没有, 并不 ... added: towards the opposite label", tuple(negations))
    generator = rng("contrast")
    contrasts = [Case(perturb.contrast(base.text, clause), base.text, _opposite(base.label))
                 for base in bases
                 for clause in generator.sample(rules["contrast"][_opposite(base.label).value],
                                                rules["contrast_per_sentence"])]
    yield BehaviourTest("contrast", Kind.DIRECTIONAL,
               "但是/可惜 and a clause of the opposite sentiment: towards it", tuple(contrasts))


def _templated(spec: dict[str, Any], rng: Callable[[str], random.Random]
               ) -> dict[str, list[Base]]:
    """Each MFT test's cases: ``per_domain`` fillings of its templates drawn in every domain."""
    rules = spec["mft"]
    tests = {}
    for name, test in rules["tests"].items():
        generator = rng(name)
        label = Label(test["label"])
        tests[name] = []
        for domain, things in rules["things"].items():
            filled = sorted({(template.format(brand=brand, thing=thing, phrase=phrase), brand)
                             for template in test["templates"] for phrase in test["phrases"]
                             for thing in things for brand in spec["brands"][domain]})
            tests[name] += [Base(text, label, domain, brand) for text, brand in
                            generator.sample(filled, min(rules["per_domain"], len(filled)))]
    return tests


def _opposite(label: Label) -> Label:
    return Label.POSITIVE if label is Label.NEGATIVE else Label.NEGATIVE
