"""A character-level BiLSTM sentiment classifier and its character vocabulary.

Characters, not jieba words: the reviews are short and full of typos and slang, and a
character vocabulary of a few thousand entries covers them with almost no unknowns. The
constructor takes only plain numbers so that Beam's PyTorch handler can rebuild the module
from ``model_params`` stored in the model card.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

PAD, UNK = 0, 1


class CharVocab:
    """Maps characters to ids; id 0 pads, id 1 stands for any character unseen in training."""

    def __init__(self, chars: Iterable[str], max_len: int = 200) -> None:
        self.chars = list(chars)
        self.max_len = max_len
        self._index = {char: i + 2 for i, char in enumerate(self.chars)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 2, max_len: int = 200) -> CharVocab:
        """Keep characters seen ``min_count`` times, so one-off characters train the UNK id."""
        counts = Counter(char for text in texts for char in text)
        kept = sorted(char for char, n in counts.items() if n >= min_count)
        return cls(kept, max_len=max_len)

    def __len__(self) -> int:
        return len(self.chars) + 2

    def encode(self, text: str) -> list[int]:
        """Ids of the first ``max_len`` characters; long reviews state their verdict early."""
        return [self._index.get(char, UNK) for char in text[: self.max_len]] or [UNK]

    def save(self, path: Path) -> None:
        payload = {"max_len": self.max_len, "chars": self.chars}
        path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> CharVocab:
        payload = json.loads(path.read_text(encoding="utf-8"))
        return cls(payload["chars"], max_len=payload["max_len"])


def reverse_valid(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence's first ``length`` steps and leave its padding where it is.

    Works on ``(batch, time)`` ids and ``(batch, time, features)`` tensors alike. It lets a plain
    left-to-right LSTM read every comment backwards from its real last character, which
    ``nn.LSTM(bidirectional=True)`` on padded input does not do.
    """
    steps = torch.arange(x.size(1), device=x.device)[None, :]
    last = lengths[:, None] - 1
    index = torch.where(steps <= last, last - steps, steps)
    if x.dim() == 3:
        index = index.unsqueeze(-1).expand_as(x)
    return x.gather(1, index)


def ngram_bag(ids: torch.Tensor, table: nn.Embedding) -> torch.Tensor:
    """Mean vector of each comment's hashed character bi- and trigrams (fastText-style).

    The LSTM alone stayed below a TF-IDF n-gram baseline; this bag gives the classifier the
    same direct view of phrases like 不错 or 太失望 while the LSTM reads order and negation.
    N-grams touching padding are left out, so the bag, too, ignores what shares the batch.
    """
    total = torch.zeros(ids.size(0), table.embedding_dim, device=ids.device)
    count = torch.zeros(ids.size(0), device=ids.device)
    for n in (2, 3):
        if ids.size(1) < n:
            continue
        windows = ids.unfold(1, n, 1)
        hashed = windows[..., 0]
        for k in range(1, n):
            hashed = hashed * 1_000_003 + windows[..., k]
        valid = (windows != PAD).all(dim=-1)
        total += (table(hashed % table.num_embeddings) * valid[..., None]).sum(dim=1)
        count += valid.sum(dim=1)
    return total / count.clamp(min=1)[:, None]


class BiLSTMClassifier(nn.Module):
    """Embedding → BiLSTM → max- and mean-pooling over the real characters → two logits.

    The two directions are separate LSTMs over padded batches rather than one packed
    bidirectional LSTM: on the CPU the packed backward pass was several times slower. Padding
    only ever follows the real characters in either direction, so a comment gets the same score
    whatever else shares its batch.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 128,
        hidden_dim: int = 128,
        dropout: float = 0.3,
        num_classes: int = 2,
        ngram_buckets: int = 0,
        ngram_dim: int = 32,
        stride: int = 1,
    ) -> None:
        super().__init__()
        self.params = {"vocab_size": vocab_size, "embed_dim": embed_dim, "hidden_dim": hidden_dim,
                       "dropout": dropout, "num_classes": num_classes,
                       "ngram_buckets": ngram_buckets, "ngram_dim": ngram_dim, "stride": stride}
        self.stride = stride
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.forward_lstm = nn.LSTM(stride * embed_dim, hidden_dim, batch_first=True)
        self.backward_lstm = nn.LSTM(stride * embed_dim, hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ngrams = nn.Embedding(ngram_buckets, ngram_dim) if ngram_buckets else None
        if self.ngrams is not None:
            nn.init.normal_(self.ngrams.weight, std=0.1)
        self.head = nn.Linear(4 * hidden_dim + (ngram_dim if ngram_buckets else 0), num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits for a ``(batch, time)`` batch of ids padded with ``PAD``."""
        lengths = (ids != PAD).sum(dim=1).clamp(min=1)
        ahead = self.forward_lstm(self._steps(ids))[0]
        # Reversing the ids is cheaper than reversing vectors; the backward outputs stay in
        # reversed order, as the pooling below does not care about order.
        behind = self.backward_lstm(self._steps(reverse_valid(ids, lengths)))[0]
        outputs = torch.cat([ahead, behind], dim=-1)
        steps = torch.arange(outputs.size(1), device=ids.device)
        step_lengths = -(-lengths // self.stride)
        mask = (steps[None, :] < step_lengths[:, None]).unsqueeze(-1)
        max_pool = outputs.masked_fill(~mask, float("-inf")).max(dim=1).values
        mean_pool = (outputs * mask).sum(dim=1) / step_lengths[:, None]
        features = [max_pool, mean_pool]
        if self.ngrams is not None:
            features.append(ngram_bag(ids, self.ngrams))
        return self.head(self.dropout(torch.cat(features, dim=1)))

    def _steps(self, ids: torch.Tensor) -> torch.Tensor:
        """Embedded input, ``stride`` characters to an LSTM step.

        On one CPU core the LSTM's cost is mostly per step, not per unit of width, so reading
        ``stride`` characters a step divides the time by nearly as much, while the n-gram bag
        keeps the identity of short phrases. A
        comment's last step is padded with ``PAD`` vectors (zeros) of its own, never with
        another comment's characters, so scores still do not depend on the batch.
        """
        embedded = self.dropout(self.embedding(ids))
        if self.stride == 1:
            return embedded
        batch, time, width = embedded.shape
        embedded = nn.functional.pad(embedded, (0, 0, 0, -time % self.stride))
        return embedded.reshape(batch, -1, self.stride * width)


@torch.no_grad()
def negative_probabilities(
    model: nn.Module, sequences: list[list[int]], batch_size: int = 256
) -> torch.Tensor:
    """P(negative) for each id sequence, in order; batches sorted by length to cut padding."""
    model.eval()
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    result = torch.empty(len(sequences))
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        ids = pad_sequence([torch.tensor(sequences[i]) for i in chunk], batch_first=True)
        result[chunk] = torch.softmax(model(ids), dim=-1)[:, 1]
    return result


def save_artifact(directory: Path, model: nn.Module, vocab: CharVocab, card: dict) -> None:
    """``model.pt`` (state_dict), ``vocab.json`` and ``card.json``: all a scorer needs."""
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), directory / "model.pt")
    vocab.save(directory / "vocab.json")
    text = json.dumps(card, ensure_ascii=False, indent=2) + "\n"
    (directory / "card.json").write_text(text, encoding="utf-8")


def load_artifact(directory: Path) -> tuple[BiLSTMClassifier, CharVocab, dict]:
    """Rebuild the model from its card's ``model_params`` and its weights, on the CPU."""
    card = json.loads((directory / "card.json").read_text(encoding="utf-8"))
    model = BiLSTMClassifier(**card["model_params"])
    model.load_state_dict(torch.load(directory / "model.pt", map_location="cpu", weights_only=True))
    return model.eval(), CharVocab.load(directory / "vocab.json"), card
