"""Baidu LAC character embeddings, read from the copy that ships inside the jieba package.

Fourteen thousand reviews are too few to learn what three thousand characters mean; LAC's
vectors were trained on a large news and web corpus, and starting from them is the cheapest
accuracy gain for the character LSTM. Nothing is downloaded: the file is part of jieba.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import torch

from models.lstm import PAD, CharVocab

LAC_HEADER_BYTES = 29  # Paddle's tensor header before the raw float32 matrix
LAC_DIM = 128


@lru_cache(maxsize=1)
def lac_vectors() -> dict[str, np.ndarray]:
    """Character → 128-d vector for every single character in LAC's ``word.dic``."""
    folder = resources.files("jieba") / "lac_small"
    raw = (folder / "model_baseline" / "word_emb").read_bytes()[LAC_HEADER_BYTES:]
    matrix = np.frombuffer(raw, dtype=np.float32).reshape(-1, LAC_DIM)
    vectors = {}
    for line in (folder / "word.dic").read_text(encoding="utf-8").splitlines():
        index, _, char = line.partition("\t")
        if len(char) == 1:
            vectors[char] = matrix[int(index)]
    return vectors


def embedding_init(vocab: CharVocab, seed: int = 0) -> tuple[torch.Tensor, float]:
    """An embedding matrix for ``vocab`` and the share of its characters LAC knows.

    Characters LAC lacks get random vectors of the same scale, so no row starts out louder.
    """
    vectors = lac_vectors()
    scale = float(np.std(np.stack(list(vectors.values()))))
    generator = torch.Generator().manual_seed(seed)
    weights = torch.randn(len(vocab), LAC_DIM, generator=generator) * scale
    known = [(i + 2, vectors[c]) for i, c in enumerate(vocab.chars) if c in vectors]
    for row, vector in known:
        weights[row] = torch.from_numpy(vector.copy())
    weights[PAD] = 0.0
    return weights, len(known) / max(len(vocab.chars), 1)


def build_vocab(texts: list[str], min_count: int = 2, max_len: int = 200) -> CharVocab:
    """Training characters seen ``min_count`` times, plus any LAC already knows.

    A character seen once in training is noise to learn from scratch, but with a pretrained
    vector it is worth keeping.
    """
    frequent = CharVocab.build(texts, min_count=min_count).chars
    known = {char for text in texts for char in text} & lac_vectors().keys()
    return CharVocab(sorted(set(frequent) | known), max_len=max_len)
