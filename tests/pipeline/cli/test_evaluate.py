"""``yuqing score`` labels a comment as the job would, per-source threshold included."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import get_settings


@pytest.fixture
def weibo_strict(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process-wide settings, as an operator would set them, with weibo at 1.0."""
    for name in ("YUQING_CONFIG", "YUQING_ALERT_THRESHOLD", "YUQING_MODEL", "YUQING_MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("YUQING_SOURCE_THRESHOLDS", '{"weibo": 1.0}')
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def score(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["score", *args])
    assert result.exit_code == 0, result.output
    row: dict[str, object] = json.loads(result.output.splitlines()[-1])
    return row


def test_score_labels_at_the_threshold_of_the_source_it_is_told(weibo_strict: None) -> None:
    text = "快递三天才到，包装也破了"
    plain = score("--text", text)
    strict = score("--text", text, "--source", "weibo")
    assert plain["threshold"] == 0.7 and strict["threshold"] == 1.0
    assert plain["score"] == strict["score"]
    assert strict["label"] == "positive"
    assert plain["label"] == ("negative" if float(plain["score"]) >= 0.7 else "positive")
