from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.text.baseline import KenlmInterface
from pipeline.text.lm import BOUND, NgramModel
from pipeline.text.resources import CorrectorParams, build_lm, load_model


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[CorrectorParams, NgramModel]:
    """An LM from the first 300 sentences, built the way ``yuqing build text-resources`` does."""
    params = CorrectorParams(cache_dir=tmp_path_factory.mktemp("cache"), build_order=3)
    build_lm(params.lm_path(), params.build_order, max_sentences=300)
    return params, load_model(params)


def test_build_writes_a_loadable_lm_into_the_cache(small: tuple[CorrectorParams, NgramModel]):
    params, model = small
    assert isinstance(params.cache_dir, Path)
    assert params.lm_path().parent == params.cache_dir
    assert model.order == 3
    assert "的" in model.vocab


def test_kenlm_interface_sums_log10_probabilities(small: tuple[CorrectorParams, NgramModel]):
    _, model = small
    kenlm = KenlmInterface(model)
    framed = np.concatenate([[BOUND, BOUND], model.ids("我们的"), [BOUND]])
    windows = np.lib.stride_tricks.sliding_window_view(framed, 3)
    expected = model.logprob(windows).sum() / np.log(10)
    assert kenlm.score("我 们 的") == pytest.approx(expected, rel=1e-5)
    assert kenlm.perplexity("我 们 的") == pytest.approx(10 ** (-expected / 4), rel=1e-4)
