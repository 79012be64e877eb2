"""Fine-tune a BERT-family checkpoint on the review corpus into a versioned artifact.

Runs are seeded and resumable: the batch order is a function of the seed alone, a training
state (weights, optimiser, schedule, step, best dev score, RNG) is saved at every dev
evaluation, and re-running the same command continues from it, because the artifact's version
is a hash of the settings and the data. Batches are drawn from length-sorted pools so that a
batch pads little, which on a CPU roughly halves the cost of an epoch. The dev split picks the
checkpoint; the test split is scored once, at the end.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm
from transformers import AutoTokenizer, get_linear_schedule_with_warmup

from models.bert import MAX_LENGTH, classify, load_classifier, load_tokenizer, pick_device
from models.bert_card import describe_hardware, model_card
from models.data import cleaned_pairs, data_hash, load_examples
from models.extra import ExtraFile, extra_pairs, read_extras

log = logging.getLogger(__name__)

STATE_FILE = "train-state.pt"
Split = tuple[list[torch.Tensor], list[int]]  # token ids and labels


@dataclass
class TrainConfig:
    base: Path
    epochs: float = 1.0
    max_train: int | None = None  # a seeded subset of the train split, for CPU budgets
    max_length: int = MAX_LENGTH
    batch_size: int = 16
    learning_rate: float = 5e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    seed: int = 13
    eval_every: int = 200  # steps between dev evaluations and saved training states
    device: str = "auto"
    extra: tuple[Path, ...] = ()  # labelled-example files added to the train split only

    def described(self) -> dict[str, object]:
        """The settings as JSON can hold them; ``extra`` only when given, so a run without extra
        data keeps the version it had before extra data existed."""
        described = {**asdict(self), "base": str(self.base)}
        del described["extra"]
        return described | ({"extra": [str(p) for p in self.extra]} if self.extra else {})

    def version(self) -> str:
        """Same settings and data, same version: that is what lets a re-run resume. An extra
        file counts by its content, so an edited one starts a new run."""
        extra = [hashlib.sha256(path.read_bytes()).hexdigest() for path in self.extra]
        settings = {**self.described(), **({"extra": extra} if extra else {}), "data": data_hash()}
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        return f"bert-{digest[:10]}"


def encode_splits(
    config: TrainConfig, generator: torch.Generator, extras: Sequence[ExtraFile] = ()
) -> dict[str, Split]:
    """Token ids and labels of each split; the extra examples join the train split after the
    ``max_train`` subset is drawn, so they are always used."""
    tokenizer = load_tokenizer(config.base, config.max_length)
    splits = {}
    for name in ("train", "dev", "test"):
        examples = load_examples(name)
        if name == "train":
            order = torch.randperm(len(examples), generator=generator).tolist()
            examples = [examples[i] for i in order][: config.max_train or None]
        pairs = cleaned_pairs(examples) + (extra_pairs(extras) if name == "train" else [])
        encodings = tokenizer.encode_batch([text for text, _ in pairs])
        splits[name] = ([torch.tensor(e.ids) for e in encodings], [label for _, label in pairs])
    return splits


def make_batches(lengths: list[int], size: int, generator: torch.Generator) -> list[list[int]]:
    """One epoch: shuffle, sort pools of 50 batches by length, cut, shuffle the batches."""
    order, pool, batches = torch.randperm(len(lengths), generator=generator).tolist(), 50 * size, []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lengths.__getitem__)
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def accuracy(model: torch.nn.Module, split: Split, device: torch.device) -> float:
    model.eval()
    ids, labels = split
    predicted = []
    for start in tqdm(range(0, len(ids), 64), desc="evaluate", leave=False):
        batch = classify(ids[start : start + 64], model, device, model.config.pad_token_id or 0)
        predicted += [int(p.argmax()) for p in batch]
    model.train()
    return sum(p == y for p, y in zip(predicted, labels, strict=True)) / len(labels)


def train_step(
    model: torch.nn.Module, split: Split, batch: list[int], device: torch.device
) -> float:
    """Forward and backward on one batch; the caller steps the optimiser."""
    ids = [split[0][i] for i in batch]
    padded = torch.nn.utils.rnn.pad_sequence(
        ids, batch_first=True, padding_value=model.config.pad_token_id or 0
    )
    mask = (torch.arange(padded.shape[1]) < torch.tensor([len(x) for x in ids])[:, None]).long()
    labels = torch.tensor([split[1][i] for i in batch])
    loss = model(
        input_ids=padded.to(device), attention_mask=mask.to(device), labels=labels.to(device)
    ).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    return loss.item()


def train_bert(
    config: TrainConfig, out_root: Path, pause_after: int | None = None
) -> Path | None:
    """Train, select on dev, test once; return the artifact directory (model, tokenizer, card).

    ``pause_after`` ends this session at the first dev evaluation at least that many steps in,
    returning None and leaving the state for the next run: a shared CPU can train in slices.
    """
    extras = read_extras(config.extra)
    device, out_dir = pick_device(config.device), out_root / config.version()
    if (out_dir / "metrics.json").exists():
        log.info("%s is already trained", out_dir)
        return out_dir
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    splits = encode_splits(config, generator, extras)
    lengths = [len(ids) for ids in splits["train"][0]]
    n_epochs = max(1, -int(-config.epochs // 1))
    epochs = [make_batches(lengths, config.batch_size, generator) for _ in range(n_epochs)]
    steps = round(config.epochs * len(epochs[0]))
    schedule = [batch for epoch in epochs for batch in epoch][:steps]
    model = load_classifier(config.base).to(device).train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, round(config.warmup * len(schedule)), len(schedule)
    )
    state = {"step": 0, "best": {"dev_accuracy": -1.0, "step": 0}, "seconds": 0.0}
    if (state_path := out_dir / STATE_FILE).exists():
        saved = torch.load(state_path, weights_only=False)
        for target, key in ((model, "model"), (optimizer, "optimizer"), (scheduler, "scheduler")):
            target.load_state_dict(saved.pop(key))
        torch.set_rng_state(saved.pop("rng"))
        state = saved
        log.info("resuming %s at step %d of %d", out_dir, state["step"], len(schedule))
    out_dir.mkdir(parents=True, exist_ok=True)
    started, first_step = time.time() - state["seconds"], state["step"]
    progress = tqdm(total=len(schedule), initial=state["step"], desc=f"train {out_dir.name}")
    while state["step"] < len(schedule):
        loss = train_step(model, splits["train"], schedule[state["step"]], device)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        state["step"] += 1
        progress.update()
        progress.set_postfix(loss=f"{loss:.3f}", best_dev=f"{state['best']['dev_accuracy']:.4f}")
        if state["step"] % config.eval_every and state["step"] < len(schedule):
            continue
        dev = accuracy(model, splits["dev"], device)
        log.info("step %d: dev accuracy %.4f", state["step"], dev)
        if dev > state["best"]["dev_accuracy"]:
            state["best"] = {"dev_accuracy": dev, "step": state["step"]}
            model.save_pretrained(out_dir)
        state["seconds"] = time.time() - started
        modules = {"model": model, "optimizer": optimizer, "scheduler": scheduler}
        weights = {name: module.state_dict() for name, module in modules.items()}
        torch.save({**state, **weights, "rng": torch.get_rng_state()}, state_path)
        if pause_after and first_step + pause_after <= state["step"] < len(schedule):
            progress.close()
            log.info("paused %s at step %d; run again to resume", out_dir, state["step"])
            return None
    progress.close()
    test = accuracy(load_classifier(out_dir).to(device), splits["test"], device)
    AutoTokenizer.from_pretrained(config.base, local_files_only=True).save_pretrained(out_dir)
    metrics = {
        "version": out_dir.name, "max_length": config.max_length, "data_hash": data_hash(),
        "split_sizes": {name: len(split[1]) for name, split in splits.items()},
        "dev_accuracy": state["best"]["dev_accuracy"], "best_step": state["best"]["step"],
        "steps": len(schedule), "test_accuracy": test, "training_seconds": time.time() - started,
        "hardware": describe_hardware(device),
        "config": config.described(),
        **({"extra_data": [extra.card() for extra in extras]} if extras else {}),
    }  # fmt: skip
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out_dir / "README.md").write_text(model_card(metrics))
    state_path.unlink()
    log.info("wrote %s: dev %.4f, test %.4f", out_dir, metrics["dev_accuracy"], test)
    return out_dir

