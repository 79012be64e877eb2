from __future__ import annotations

import pytest

from pipeline.config import Settings
from pipeline.text.clean import TextRejected
from pipeline.text.correct import Corrector
from pipeline.text.stage import TextStage

SETTINGS = Settings(keywords=["小米手机", "对不气"])


def test_stage_cleans_corrects_segments_and_matches(corrector: Corrector) -> None:
    result = TextStage(SETTINGS, corrector).process("小米手機真差,对不氣[怒]")
    assert result.cleaned == "小米手机真差,对不气[怒]"
    assert result.text == "小米手机真差,对不气[怒]"  # 对不气 is a configured keyword
    assert result.keywords == ("小米手机", "对不气")
    assert result.tokens[0] == "小米手机"
    assert result.tokens[-1] == "[怒]"


def test_stage_corrects_outside_keywords(corrector: Corrector) -> None:
    result = TextStage(SETTINGS, corrector).process("小米手机很差,真对不起,说对不气也没用")
    assert result.text == "小米手机很差,真对不起,说对不气也没用"
    unprotected = TextStage(Settings(), corrector).process("真差,对不气")
    assert unprotected.text == "真差,对不起"
    assert "对不起" in unprotected.tokens


def test_stage_without_corrector_only_cleans() -> None:
    result = TextStage(Settings(correct_text=False), None).process("对不氣")
    assert (result.text, result.edits) == ("对不气", ())


def test_stage_rejects_with_reason() -> None:
    with pytest.raises(TextRejected, match="empty"):
        TextStage(Settings(correct_text=False), None).process("@某人 ")


def test_batch_keeps_refusals_in_place(corrector: Corrector) -> None:
    results = TextStage(Settings(), corrector).process_batch(["很好", "", "对不气"])
    assert isinstance(results[1], TextRejected)
    assert [r.text for r in (results[0], results[2])] == ["很好", "对不起"]
