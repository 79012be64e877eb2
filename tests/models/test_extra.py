"""Operators' verdicts as training data: `yuqing export feedback` writes them, `yuqing train lstm`
and `yuqing train bert` add them to the train split, and never let one into dev or test."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from devkit.child import child_env
from models.bert_train import train_bert
from models.data import load_examples
from models.extra import BadExtraData, read_extra
from models.train import LstmConfig, train_lstm
from pipeline.config import Settings
from pipeline.records import AlertRow
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.queries import record_scores
from pipeline.store.triage import Action, act_on_alert
from pipeline.text.clean import clean
from tests.models.conftest import tiny_config

NEW_NEGATIVE = "客服态度恶劣，退款拖了一个月还没到账"
NEW_POSITIVE = "包装很用心，送货上门还帮忙安装，点赞"
ROW = AlertRow(
    comment_id="demo-weibo:1", source="demo-weibo", url="http://127.0.0.1/1", author=None,
    published_at=None, crawled_at=datetime(2026, 11, 30, tzinfo=UTC), raw_text=NEW_NEGATIVE,
    clean_text=NEW_NEGATIVE, tokens=[], keywords=[], label="negative", score=0.9, model="lstm",
    model_version="lstm-1.2.0", kafka_topic="comments", kafka_partition=0, kafka_offset=1,
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A feedback file as `yuqing export feedback` writes it from operators' marks: two new
    texts, a test review verbatim, and a dev review that differs only in what `clean` folds."""
    tmp_path = tmp_path_factory.mktemp("feedback")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'yuqing.db'}",
                        data_dir=tmp_path / "data")
    upgrade(settings.database_url)
    test_text = load_examples("test")[0].text
    dev_text = "  " + load_examples("dev")[0].text.replace("，", ",") + " http://t.cn/x"
    marks = [(NEW_NEGATIVE, Action.TRUE_POSITIVE), (NEW_POSITIVE, Action.FALSE_POSITIVE),
             (test_text, Action.TRUE_POSITIVE), (dev_text, Action.FALSE_POSITIVE)]
    with Session(make_engine(settings.database_url)) as session, session.begin():
        rows = [replace(ROW, comment_id=f"demo-weibo:{n}", raw_text=text, kafka_offset=n)
                for n, (text, _) in enumerate(marks)]
        record_scores(session, rows)
        for row, (_, action) in zip(rows, marks, strict=True):
            act_on_alert(session, row.comment_id, action, "alice")
    path = tmp_path / "feedback.jsonl"
    done = subprocess.run([sys.executable, "-m", "pipeline", "export", "feedback", "-o", str(path)],
                          env=child_env(settings), capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert len(path.read_text(encoding="utf-8").splitlines()) == 4
    return path


def test_exported_feedback_keeps_its_new_texts_and_drops_dev_and_test_texts(
        exported: Path) -> None:
    extra = read_extra(exported)
    assert sorted(extra.pairs) == sorted([(clean(NEW_NEGATIVE), 1), (clean(NEW_POSITIVE), 0)])
    assert (extra.held_out, extra.refused) == (2, 0)


def test_lstm_trains_on_the_feedback_and_its_card_says_so(
        exported: Path, tmp_path: Path) -> None:
    config = LstmConfig(epochs=1, limit=300, hidden_dim=8, max_len=40, corpus=False)
    card = train_lstm(tmp_path, config, extra=[exported])
    assert card["data"]["sizes"] == {"train": 302, "dev": 300, "test": 300}
    [recorded] = card["data"]["extra"]
    assert recorded["file"] == str(exported)
    assert [recorded[k] for k in ("used", "dropped_held_out", "dropped_refused")] == [2, 2, 0]
    assert json.loads((tmp_path / "card.json").read_text(encoding="utf-8")) == card


def test_bert_trains_on_the_feedback_as_a_new_run(
        exported: Path, tiny_base: Path, tmp_path: Path) -> None:
    plain = tiny_config(tiny_base)
    config = replace(plain, extra=(exported,))
    assert config.version() != plain.version()
    directory = train_bert(config, out_root=tmp_path)
    assert directory is not None
    metrics = json.loads((directory / "metrics.json").read_text())
    assert metrics["split_sizes"]["train"] == 256 + 2
    assert metrics["split_sizes"]["test"] == len(load_examples("test"))
    assert [e["used"] for e in metrics["extra_data"]] == [2]
    assert metrics["config"]["extra"] == [str(exported)]
    assert "2 examples added to train; 2 dropped as dev or test" in (
        directory / "README.md").read_text()


def test_a_refused_text_is_counted_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "extra.jsonl"
    path.write_text('{"text": "http://t.cn/x", "label": "negative"}\n\n'
                    f'{json.dumps({"text": NEW_POSITIVE, "label": "positive"})}\n',
                    encoding="utf-8")
    extra = read_extra(path)
    assert (len(extra.pairs), extra.held_out, extra.refused) == (1, 0, 1)


@pytest.mark.parametrize(("line", "reason"), [
    ("not json", "not JSON"),
    ('["a list"]', "expected a JSON object with text and label, got list"),
    ('{"label": "negative"}', "'text' must be a non-empty string"),
    ('{"text": "  ", "label": "negative"}', "'text' must be a non-empty string"),
    ('{"text": "好", "label": 1}', "'label' must be one of positive, negative, not 1"),
    ('{"text": "好", "label": "neutral"}', "'label' must be one of positive, negative, not "
                                         '"neutral"'),
])  # fmt: skip
def test_a_bad_line_fails_with_the_file_line_and_reason(
        tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "extra.jsonl"
    path.write_text(f'{json.dumps({"text": NEW_POSITIVE, "label": "positive"})}\n{line}\n',
                    encoding="utf-8")
    with pytest.raises(BadExtraData) as raised:
        read_extra(path)
    assert str(raised.value).startswith(f"{path}:2: {reason}")


def test_bytes_that_are_not_utf8_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "extra.jsonl"
    path.write_bytes(b'{"text": "\xff", "label": "positive"}\n')
    with pytest.raises(BadExtraData, match=rf"^{path}:1: not UTF-8"):
        read_extra(path)
