"""``yuqing train … --extra FILE`` as an operator runs it: a bad file stops it at once, with one
line naming the file, the line and what is wrong, before any training starts."""

from __future__ import annotations

from pathlib import Path

from tests.pipeline.cli.test_errors import one_line, yuqing


def test_a_malformed_extra_file_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "feedback.jsonl"
    bad.write_text('{"text": "物流太慢", "label": "negative"}\n{"text": "还行"}\n',
                   encoding="utf-8")
    done = yuqing("train", "lstm", "--extra", str(bad), "--output-dir", str(tmp_path / "out"),
                  YUQING_DATA_DIR=str(tmp_path / "data"))
    assert done.returncode == 1
    assert one_line(done) == (f"yuqing: error: {bad}:2: 'label' must be one of positive, "
                              "negative, not null")
    assert not (tmp_path / "out").exists()


def test_a_missing_extra_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    done = yuqing("train", "lstm", "--extra", str(missing), YUQING_DATA_DIR=str(tmp_path))
    assert done.returncode == 1
    assert one_line(done) == (f"yuqing: error: cannot read extra training data {missing}: "
                              "No such file or directory")
