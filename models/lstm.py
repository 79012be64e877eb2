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

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from pipeline.records import Label

PAD, UNK = 0, 1
PACKAGED_ARTIFACT = Path(__file__).resolve().parent / "artifacts" / "lstm"
"""The trained model that ships inside the package; the default for ``YUQING_MODEL=lstm``."""


class CharVocab:
    """Maps characters to ids; id 0 pads, id 1 stands for any character unseen in training."""

    def __init__(self, chars: Iterable[str], max_len: int = 200) -> None:
        self.chars = list(chars)
        self.max_len = max_len
        # Ids by code point, so that encoding a comment is one vectorised lookup instead of a
        # dictionary lookup per character; the last entry is UNK for anything beyond the table.
        points = [ord(char) for char in self.chars]
        self._by_point = np.full(max(points, default=0) + 2, UNK, dtype=np.int64)
        self._by_point[points] = np.arange(2, len(points) + 2)

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
        return self.ids(text).tolist()

    def ids(self, text: str) -> torch.Tensor:
        """:meth:`encode` as a tensor, the form the scorer hands to RunInference."""
        raw = text[: self.max_len].encode("utf-32-le", errors="surrogatepass")
        points = np.frombuffer(raw, dtype=np.uint32).clip(max=len(self._by_point) - 1)
        return torch.from_numpy(self._by_point[points]) if len(points) else torch.tensor([UNK])

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
        total += nn.functional.embedding_bag(hashed % table.num_embeddings, table.weight,
                                             per_sample_weights=valid.float(), mode="sum")
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
        # Time-major: the LSTM kernel wants (time, batch, features) and copied every
        # batch-first input into that layout, at two fifths of the cost of the LSTM itself.
        self.forward_lstm = nn.LSTM(stride * embed_dim, hidden_dim)
        self.backward_lstm = nn.LSTM(stride * embed_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.ngrams = nn.Embedding(ngram_buckets, ngram_dim) if ngram_buckets else None
        if self.ngrams is not None:
            nn.init.normal_(self.ngrams.weight, std=0.1)
        self.head = nn.Linear(4 * hidden_dim + (ngram_dim if ngram_buckets else 0), num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits for a ``(batch, time)`` batch of ids padded with ``PAD``."""
        lengths = (ids != PAD).sum(dim=1).clamp(min=1)
        ahead = self.forward_lstm(self._steps(ids, "forward"))[0]
        # Reversing the ids is cheaper than reversing vectors; the backward outputs stay in
        # reversed order, as the pooling below does not care about order.
        behind = self.backward_lstm(self._steps(reverse_valid(ids, lengths), "backward"))[0]
        outputs = torch.cat([ahead, behind], dim=-1)
        steps = torch.arange(outputs.size(0), device=ids.device)
        step_lengths = -(-lengths // self.stride)
        mask = (steps[:, None] < step_lengths[None, :]).unsqueeze(-1)
        max_pool = outputs.masked_fill(~mask, float("-inf")).max(dim=0).values
        mean_pool = (outputs * mask).sum(dim=0) / step_lengths[:, None]
        features = [max_pool, mean_pool]
        if self.ngrams is not None:
            features.append(ngram_bag(ids, self.ngrams))
        return self.head(self.dropout(torch.cat(features, dim=1)))

    def _steps(self, ids: torch.Tensor, direction: str) -> torch.Tensor:
        """Embedded ``(steps, batch, stride * embed_dim)`` input, ``stride`` characters a step.

        On one CPU core the LSTM's cost is mostly per step, not per unit of width, so reading
        ``stride`` characters a step divides the time by nearly as much, while the n-gram bag
        keeps the identity of short phrases. Both directions share the embedding, so
        ``direction`` matters only to :class:`FoldedBiLSTM`.
        """
        return self.dropout(self.embedding(group_steps(ids, self.stride))).flatten(2)


class FoldedBiLSTM(BiLSTMClassifier):
    """Inference-only twin of a trained :class:`BiLSTMClassifier`: same scores, about twice as fast.

    An LSTM multiplies each step's input by its input weights before the recurrence, and with
    ``stride`` embeddings of 128 numbers a step that product was most of the LSTM's time. With
    no dropout in between, embedding and product fold into one table per character position,
    ``embedding @ W_ih[:, block].T``, and a step's input becomes the sum of ``stride`` table
    rows (one ``embedding_bag``) fed to an LSTM whose input weights are the identity.
    """

    def __init__(self, model: BiLSTMClassifier) -> None:
        super().__init__(**model.params)
        self.load_state_dict(model.state_dict())
        self.eval()
        embedding = self.embedding.weight.detach()
        for direction in ("forward", "backward"):
            lstm: nn.LSTM = getattr(self, f"{direction}_lstm")
            blocks = lstm.weight_ih_l0.detach().split(embedding.size(1), dim=1)
            self.register_buffer(f"{direction}_table", torch.cat([embedding @ w.T for w in blocks]))
            gates = lstm.weight_ih_l0.size(0)
            folded = nn.LSTM(gates, lstm.hidden_size).to(embedding.device)
            folded.load_state_dict(lstm.state_dict() | {"weight_ih_l0": torch.eye(gates)})
            setattr(self, f"{direction}_lstm", folded.eval())
        del self.embedding

    def _steps(self, ids: torch.Tensor, direction: str) -> torch.Tensor:
        """The ``stride`` rows of a step's characters, one table block per position, summed."""
        grouped = group_steps(ids, self.stride)
        rows = grouped + torch.arange(self.stride, device=ids.device) * self.params["vocab_size"]
        table = getattr(self, f"{direction}_table")
        summed = nn.functional.embedding_bag(rows.reshape(-1, self.stride), table, mode="sum")
        return summed.view(*grouped.shape[:2], -1)


def group_steps(ids: torch.Tensor, stride: int) -> torch.Tensor:
    """``(batch, time)`` ids as time-major ``(steps, batch, stride)``, the last step padded.

    A comment's last step is padded with ``PAD`` (a zero vector) of its own, never with another
    comment's characters, so scores still do not depend on the batch. Grouping and transposing
    the ids rather than the vectors gives the LSTM its time-major layout without a copy.
    """
    ids = nn.functional.pad(ids, (0, -ids.size(1) % stride), value=PAD)
    return ids.view(ids.size(0), -1, stride).transpose(0, 1)


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
        result[chunk] = torch.softmax(model(ids), dim=-1)[:, Label.NEGATIVE.index]
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
