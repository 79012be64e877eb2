"""The corrector's LM is an artifact: built by one command, loaded from the configured place,
refused in one line when it is missing or stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.errors import ArtifactMissing
from pipeline.text.resources import LM_CARD, LM_VERSION, CorrectorParams, lm_dir, load_model

PARAMS = CorrectorParams(build_order=3)


def test_the_artifact_location_follows_the_jobs_settings(tmp_path: Path) -> None:
    assert lm_dir(Settings(data_dir=tmp_path)) == tmp_path / "artifacts" / LM_VERSION
    assert lm_dir(Settings(data_dir=tmp_path, corrector_lm=tmp_path / "x")) == tmp_path / "x"


def test_a_missing_artifact_names_the_command_that_builds_it(tmp_path: Path) -> None:
    with pytest.raises(ArtifactMissing, match="yuqing build corrector-lm") as caught:
        load_model(tmp_path / "nothing", PARAMS)
    assert str(tmp_path / "nothing") in str(caught.value) and "\n" not in str(caught.value)


def test_a_stale_artifact_is_refused(tmp_path: Path) -> None:
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / "lm.npz").write_bytes(b"tables of an older build")
    (stale / LM_CARD).write_text(json.dumps({"version": "corrector-lm-0", "build_order": 4}))
    with pytest.raises(ArtifactMissing, match="rebuild it"):
        load_model(stale, PARAMS)
