"""Serving the character BiLSTM: its RunInference handler and its scorer plugin (``lstm``).

The scorer encodes a cleaned comment as character ids (the LSTM reads characters, not jieba's
words); the handler sorts each batch by length and runs the folded model in groups.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from models.handlers.tensor import TensorHandler, beam_device
from models.lstm import PACKAGED_ARTIFACT, PAD, BiLSTMClassifier, CharVocab, FoldedBiLSTM
from pipeline.config import Settings
from pipeline.errors import ArtifactMissing
from pipeline.records import Label

SORTED_GROUP = 32
# oneDNN, which runs torch's LSTM on CPU, compiles kernels for every input shape it meets and
# keeps up to this many compiled shapes (1024 by default). Each comment group is a new shape
# (its size and its longest comment), so at the default the job's memory grew with traffic: in
# a memray trace of the job the compiled kernels went from 85 to 150 MB between 3,000 and
# 120,000 comments, most of the growth in it, and a full cache would hold hundreds of MB. At 32
# the model is as fast (the common shapes stay compiled) and the kernels took 75 MB, not 130,
# at 40,000 comments.
ONEDNN_CACHE_CAPACITY = "32"


def padded_inference_fn(
    batch: Sequence[torch.Tensor],
    model: torch.nn.Module,
    device: torch.device | str,
    inference_args: dict[str, Any] | None = None,
    model_id: str | None = None,
) -> Iterable[PredictionResult]:
    """Class probabilities for each example of a batch of id sequences of different lengths.

    Padding a whole batch to its longest comment made the LSTM run three times as many steps as
    needed; sorting by length and running groups of ``SORTED_GROUP`` doubled throughput (32 beat
    16 and 64 at batch 256). The model's scores do not depend on the padding, so the grouping
    changes nothing but speed.
    """
    order = sorted(range(len(batch)), key=lambda i: len(batch[i]))
    lengths = [len(batch[i]) for i in order]
    # One padded matrix for the whole batch, filled by a single masked assignment: a copy per
    # comment (pad_sequence) cost more than the model's own non-LSTM work.
    ids = torch.full((len(order), lengths[-1]), PAD, dtype=torch.long)
    ids[torch.arange(lengths[-1]) < torch.tensor(lengths)[:, None]] = torch.cat(
        [batch[i] for i in order])
    groups = [(start, min(start + SORTED_GROUP, len(order)))
              for start in range(0, len(order), SORTED_GROUP)]
    with torch.no_grad():
        in_order = torch.cat([
            torch.softmax(model(ids[start:end, : lengths[end - 1]].to(device),
                                **(inference_args or {})), dim=-1).cpu()
            for start, end in groups])  # fmt: skip
    probabilities = torch.empty_like(in_order)
    probabilities[order] = in_order
    return [PredictionResult(x, p, model_id) for x, p in zip(batch, probabilities, strict=True)]


class LstmHandler(TensorHandler):
    """Loads the BiLSTM with one intra-op thread per worker, folded for inference.

    Beam already runs one model per worker process; torch's own thread pool on top of that
    oversubscribes the cores and makes scoring slower, not faster. ``FoldedBiLSTM`` gives the
    trained model's scores at about twice its speed.
    """

    def load_model(self) -> torch.nn.Module:
        torch.set_num_threads(1)
        # Read by oneDNN once, when it first runs: before this process's first inference. An
        # operator's own setting wins.
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", ONEDNN_CACHE_CAPACITY)
        return FoldedBiLSTM(super().load_model())


class LstmScorer:
    """Scores with a trained character BiLSTM artifact directory (see ``models.lstm``)."""

    name = "lstm"
    input_type = torch.Tensor

    def __init__(self, directory: Path, device: str = "auto", batch_size: int = 64) -> None:
        self.directory = Path(directory)
        if not (self.directory / "card.json").is_file():
            raise ArtifactMissing(
                f"no LSTM artifact at {self.directory}: train one with `yuqing train lstm`, or "
                "point YUQING_MODEL_PATH (--model-path) at one")
        self.card = json.loads((self.directory / "card.json").read_text(encoding="utf-8"))
        self.version: str = self.card["version"]
        self.vocab = CharVocab.load(self.directory / "vocab.json")
        self.device = device
        self.batch_size = batch_size

    def encode(self, text: str, tokens: list[str]) -> torch.Tensor:
        """Character ids of the cleaned text; the LSTM reads characters, so ``tokens`` is unused."""
        return self.vocab.ids(text)

    def model_handler(self) -> ModelHandler:
        return LstmHandler(
            state_dict_path=str(self.directory / "model.pt"),
            model_class=BiLSTMClassifier,
            model_params=self.card["model_params"],
            device=beam_device(self.device),
            inference_fn=padded_inference_fn,
            min_batch_size=self.batch_size,
            max_batch_size=self.batch_size,
            load_model_args={"weights_only": True},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LstmScorer:
        """The configured artifact, or the one packaged with Yuqing."""
        return cls(settings.model_path or PACKAGED_ARTIFACT, settings.device, settings.batch_size)

    def negative_probability(self, result: PredictionResult) -> float:
        return float(result.inference[Label.NEGATIVE.index])
