"""The scoring contract between the sentiment models and the Beam pipeline.

The pipeline knows nothing about a model beyond :class:`Scorer`: it encodes each cleaned,
segmented comment into the model's input (a 1-D id tensor for the LSTM, the text itself for
BERT, whose handler tokenises whole batches), runs ``RunInference(KeyedModelHandler(handler))``
on ``(comment, input)`` pairs and reads P(negative) from each result. Comments differ in
length, so every handler pads its own batch instead of Beam's default ``torch.stack``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import apache_beam as beam
import numpy as np
import torch
from apache_beam.ml.inference.base import ModelHandler, PredictionResult
from apache_beam.ml.inference.pytorch_inference import PytorchModelHandlerTensor

from models.data import NEGATIVE
from models.lstm import PAD, BiLSTMClassifier, CharVocab, FoldedBiLSTM
from pipeline.config import Settings


class Scorer(Protocol):
    name: str
    version: str
    input_type: type  # what ``encode`` returns, so that Beam picks a coder for it

    def encode(self, text: str, tokens: list[str]) -> Any: ...

    def model_handler(self) -> ModelHandler: ...

    def negative_probability(self, result: PredictionResult) -> float: ...


class TensorCoder(beam.coders.Coder):
    """A tensor as its dtype, shape and raw bytes.

    Without it Beam falls back to pickling every tensor through ``torch.save``: across stage
    boundaries, and also inside a fused stage, where its counters sample elements' encoded
    sizes. Those samples alone cost the LSTM scoring stage about a quarter of its time.
    """

    def encode(self, value: torch.Tensor) -> bytes:
        flat = value.detach().cpu().contiguous().reshape(-1)
        shape = ",".join(str(n) for n in value.shape)
        header = f"{str(value.dtype).removeprefix('torch.')}|{shape}|".encode()
        return header + flat.view(torch.uint8).numpy().tobytes()

    def decode(self, encoded: bytes) -> torch.Tensor:
        dtype, shape, data = encoded.split(b"|", 2)
        dims = [int(n) for n in shape.decode().split(",") if n]
        kind = getattr(torch, dtype.decode())
        if not data:  # an empty byte tensor cannot be viewed as a wider type
            return torch.empty(dims, dtype=kind)
        return torch.from_numpy(np.frombuffer(data, dtype=np.uint8).copy()).view(kind).reshape(dims)

    def estimate_size(self, value: torch.Tensor) -> int:
        return value.element_size() * value.nelement() + 16

    def is_deterministic(self) -> bool:
        return True

    def to_type_hint(self) -> type:
        return torch.Tensor


beam.coders.registry.register_coder(torch.Tensor, TensorCoder)

SORTED_GROUP = 32


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


class TensorHandler(PytorchModelHandlerTensor):
    """Beam's PyTorch tensor handler, minus a per-number cost in its batch-size metric.

    Beam's ``get_num_bytes`` iterates every element of every tensor in Python (``for el in
    tensor``); on the LSTM's id sequences that took a third of the scoring stage's time.
    """

    def get_num_bytes(self, batch: Sequence[torch.Tensor]) -> int:
        return sum(tensor.element_size() * tensor.nelement() for tensor in batch)


class LstmHandler(TensorHandler):
    """Loads the BiLSTM with one intra-op thread per worker, folded for inference.

    Beam already runs one model per worker process; torch's own thread pool on top of that
    oversubscribes the cores and makes scoring slower, not faster. ``FoldedBiLSTM`` gives the
    trained model's scores at about twice its speed.
    """

    def load_model(self) -> torch.nn.Module:
        torch.set_num_threads(1)
        return FoldedBiLSTM(super().load_model())


def beam_device(device: str) -> str:
    """Our ``auto``/``cpu``/``cuda`` setting in Beam's ``CPU``/``GPU`` words."""
    if device == "auto":
        return "GPU" if torch.cuda.is_available() else "CPU"
    return "GPU" if device == "cuda" else "CPU"


class LstmScorer:
    """Scores with a trained character BiLSTM artifact directory (see ``models.lstm``)."""

    name = "lstm"
    input_type = torch.Tensor

    def __init__(self, directory: Path, device: str = "auto", batch_size: int = 64) -> None:
        self.directory = Path(directory)
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

    def negative_probability(self, result: PredictionResult) -> float:
        return float(result.inference[NEGATIVE])


def load_scorer(settings: Settings) -> Scorer:
    """The scorer that ``settings.model`` names, loaded from ``settings.model_path``."""
    if not Path(settings.model_path).is_dir():
        raise FileNotFoundError(
            f"no {settings.model} model at {settings.model_path}: train one with "
            f"`yuqing train {settings.model}`, or point YUQING_MODEL_PATH (--model-path) at one")
    if settings.model == "lstm":
        return LstmScorer(settings.model_path, settings.device, settings.batch_size)
    if settings.model == "bert":
        from models.bert import BertScorer  # transformers loads only when BERT is chosen

        return BertScorer(settings.model_path, settings.device, settings.batch_size)
    raise ValueError(f"no scorer for model {settings.model!r}")
