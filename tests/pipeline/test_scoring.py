"""The job finds its scorer by the name in the settings, never by importing model code."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.errors import UnknownScorer
from pipeline.scoring import available_scorers, load_scorer, scorer_factory


def test_the_shipped_scorers_are_registered_entry_points() -> None:
    assert {"lstm", "bert"} <= set(available_scorers())
    assert scorer_factory("lstm").__name__ == "LstmScorer"
    assert scorer_factory("bert").__name__ == "BertScorer"


def test_a_dotted_path_names_a_scorer_of_ones_own() -> None:
    assert scorer_factory("models.handlers.lstm:LstmScorer") is scorer_factory("lstm")


def test_an_unknown_name_lists_the_installed_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownScorer, match="no scorer named 'lsmt'; installed: bert, lstm"):
        load_scorer(Settings(model="lsmt", model_path=tmp_path))
