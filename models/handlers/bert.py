"""Serving a fine-tuned BERT-family classifier: its RunInference handler and its scorer (``bert``).

:meth:`BertScorer.encode` hands the cleaned text itself to RunInference, and the handler
tokenises each batch in one ``encode_batch`` call of the fast tokenizer, which spreads the work
over every core (one comment's tokenisation costs about as much CPU as 20,000 comments/s on a
GPU can spare). Beam's own length bucketing also groups similar lengths upstream when batches
are buffered in time (``max_batch_duration_secs``); it measures a comment in characters, about
one token each in Chinese.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import torch
from apache_beam.ml.inference.base import ModelHandler, PredictionResult
from transformers import AutoConfig

from models.bert import (
    LENGTH_BUCKETS,
    MAX_LENGTH,
    classify,
    load_classifier,
    load_tokenizer,
    pick_device,
    tokenize,
)
from models.handlers.tensor import TensorHandler
from pipeline.config import Settings
from pipeline.errors import ArtifactMissing
from pipeline.records import Label


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
    """The scoring contract of :mod:`pipeline.scoring` for a saved BERT-family classifier."""

    name = "bert"
    input_type = str

    def __init__(self, path: Path, device: str = "auto", batch_size: int = 64, threads: int = 1):
        self.path, self.device = Path(path), device
        if not (self.path / "config.json").is_file():
            raise ArtifactMissing(
                f"no BERT checkpoint at {self.path}: train one with `yuqing train bert`, or point "
                "YUQING_MODEL_PATH (--model-path) at one")
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

    @classmethod
    def from_settings(cls, settings: Settings) -> BertScorer:
        """The configured artifact, or the newest finished ``yuqing train bert`` run."""
        path = settings.model_path or newest_trained(settings.artifacts_dir / "bert")
        return cls(path, settings.device, settings.batch_size)

    def negative_probability(self, result: PredictionResult) -> float:
        return float(result.inference[Label.NEGATIVE.index])


def newest_trained(root: Path) -> Path:
    """The most recently finished training run under ``root`` (its metrics.json is written last)."""
    finished = sorted(root.glob("*/metrics.json"), key=lambda path: path.stat().st_mtime)
    if not finished:
        raise ArtifactMissing(
            f"no trained BERT under {root}: train one with `yuqing train bert`, or point "
            "YUQING_MODEL_PATH (--model-path) at one")
    return finished[-1].parent

