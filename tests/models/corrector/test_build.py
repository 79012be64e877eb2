"""`yuqing build corrector-lm` writes a versioned artifact the runtime loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.corrector.build import build_lm
from pipeline.text.lm import NgramModel
from pipeline.text.resources import LM_CARD, LM_VERSION, CorrectorParams, load_model

PARAMS = CorrectorParams(build_order=3)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, NgramModel]:
    """An LM from the first 300 sentences, built the way ``yuqing build corrector-lm`` does."""
    directory = build_lm(tmp_path_factory.mktemp("artifacts") / "lm", order=3,
                         max_sentences=300)
    return directory, load_model(directory, PARAMS)


def test_build_writes_a_versioned_loadable_artifact(small: tuple[Path, NgramModel]) -> None:
    directory, model = small
    card = json.loads((directory / LM_CARD).read_text(encoding="utf-8"))
    assert (card["version"], card["build_order"], card["sentences"]) == (LM_VERSION, 3, 300)
    assert model.order == 3 and "的" in model.vocab
    assert not directory.with_name(directory.name + ".partial").exists()
