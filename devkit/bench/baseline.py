"""pycorrector's own ``Corrector`` run on our character LM, as the benchmark's baseline.

pycorrector scores candidates through a kenlm model, and its default one is a 2.8 GB download.
kenlm itself is not installed here either, so we hand pycorrector an object with the two kenlm
methods it calls (``score`` and ``perplexity``), backed by the same packaged-text LM our corrector
uses — the best LM that can be built offline — with the order and backoff a kenlm user would
pick. Everything else (detection, candidates, its ppl threshold) is pycorrector's, untouched.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
from pycorrector import Corrector

from pipeline.text.lm import BOUND, NgramModel
from pipeline.text.resources import CorrectorParams, load_model

BASELINE_PARAMS = CorrectorParams(order=4, backoff=0.4)


class KenlmInterface:
    """``kenlm.Model``'s scoring methods over an :class:`NgramModel` (log10, like kenlm)."""

    def __init__(self, model: NgramModel) -> None:
        self._model = model

    def score(self, sentence: str, bos: bool = True, eos: bool = True) -> float:
        order = self._model.order
        ids = self._model.ids(sentence.replace(" ", ""))
        framed = np.concatenate([np.full(order - 1, BOUND), ids, [BOUND] if eos else []])
        windows = np.lib.stride_tricks.sliding_window_view(framed.astype(np.int64), order)
        if not bos:
            windows = windows.copy()
            windows[:, : order - 1][windows[:, : order - 1] == BOUND] = 0
        return float(self._model.logprob(windows).sum() / np.log(10))

    def perplexity(self, sentence: str) -> float:
        words = len(sentence.split()) + 1
        return float(10.0 ** (-self.score(sentence) / words))


def pycorrector_baseline(lm_dir: Path, params: CorrectorParams = BASELINE_PARAMS) -> Any:
    """A ``pycorrector.Corrector`` whose language model is ours; it never downloads."""
    model = load_model(lm_dir, params)

    class OfflineCorrector(Corrector):
        def _initialize_detector(self) -> None:
            shim = types.ModuleType("kenlm")
            shim.Model = lambda path: KenlmInterface(model)  # type: ignore[attr-defined]
            saved = sys.modules.get("kenlm")
            sys.modules["kenlm"] = shim
            try:
                super()._initialize_detector()
            finally:
                if saved is None:
                    del sys.modules["kenlm"]
                else:
                    sys.modules["kenlm"] = saved

    return OfflineCorrector(language_model_path=str(lm_dir))
