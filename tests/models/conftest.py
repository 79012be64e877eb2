"""Tiny models for plumbing tests: a random LSTM artifact, and a BERT trained for eight steps
on a checkpoint unlike ours (which is also how a user's ``--base PATH`` looks)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from models.bert_train import TrainConfig, train_bert
from models.data import load_examples
from models.lstm import BiLSTMClassifier, CharVocab, save_artifact

TEXTS = ["质量很好，物流也快", "太差了，再也不买", "一般", "房间干净，服务热情，下次还来住这家酒店"]
PARAMS = {"vocab_size": 0, "embed_dim": 8, "hidden_dim": 6, "dropout": 0.0, "ngram_buckets": 64}


@pytest.fixture
def tiny_artifact(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    vocab = CharVocab.build(TEXTS, min_count=1, max_len=12)
    params = {**PARAMS, "vocab_size": len(vocab)}
    card = {"name": "lstm", "version": "lstm-0.0.0-test", "model_params": params}
    save_artifact(tmp_path / "lstm", BiLSTMClassifier(**params), vocab, card)
    return tmp_path / "lstm"


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BERT checkpoint unlike ours: WordPiece over characters, [CLS]/[SEP], pad id 0."""
    path = tmp_path_factory.mktemp("tiny-bert")
    chars = Counter(c for example in load_examples("train")[:2000] for c in example.text)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [c for c, _ in chars.most_common(500)]
    tok = Tokenizer(WordPiece({p: i for i, p in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]",
    ).save_pretrained(path)  # fmt: skip
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, pad_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    BertModel(config).save_pretrained(path)
    return path


def tiny_config(base: Path) -> TrainConfig:
    """Eight steps, with a dev evaluation (and a saved state) after four."""
    return TrainConfig(base=base, max_train=256, max_length=64, batch_size=32,
                       learning_rate=1e-3, eval_every=4)  # fmt: skip


@pytest.fixture(scope="module")
def trained(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = train_bert(tiny_config(tiny_base), out_root=tmp_path_factory.mktemp("artifacts"))
    assert directory is not None
    return directory
