"""pycorrector's baseline scores through our LM with kenlm's units."""

from __future__ import annotations

import numpy as np
import pytest

from devkit.bench.baseline import KenlmInterface
from models.corrector.build import build_lm
from pipeline.text.lm import BOUND, NgramModel
from pipeline.text.resources import CorrectorParams, load_model


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> NgramModel:
    directory = build_lm(tmp_path_factory.mktemp("lm") / "lm", order=3, max_sentences=300)
    return load_model(directory, CorrectorParams(build_order=3))


def test_kenlm_interface_sums_log10_probabilities(model: NgramModel) -> None:
    kenlm = KenlmInterface(model)
    framed = np.concatenate([[BOUND, BOUND], model.ids("我们的"), [BOUND]])
    windows = np.lib.stride_tricks.sliding_window_view(framed, 3)
    expected = model.logprob(windows).sum() / np.log(10)
    assert kenlm.score("我 们 的") == pytest.approx(expected, rel=1e-5)
    assert kenlm.perplexity("我 们 的") == pytest.approx(10 ** (-expected / 4), rel=1e-4)
