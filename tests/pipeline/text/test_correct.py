from __future__ import annotations

import pytest

from pipeline.text.correct import Corrector

CORRECT_SENTENCES = [
    "这家酒店的服务很好，房间也很干净。",
    "物流很快，包装完好，下次还会再来买。",
    "国务院总理在北京主持召开会议。",
    "手机用了三天就坏了，客服也不理人。",
]


@pytest.mark.parametrize(
    ("wrong", "right"),
    [
        ("对不气，最近我很忙。", "对不起，最近我很忙。"),
        ("希望你们好好的跳无。", "希望你们好好的跳舞。"),
        ("我买的手机质量太差了,对不气", "我买的手机质量太差了,对不起"),
    ],
)
def test_homophone_typos_are_corrected(corrector: Corrector, wrong: str, right: str) -> None:
    result = corrector.correct(wrong)
    assert result.text == right
    assert [(e.original, e.replacement) for e in result.edits] == [
        (w, r) for w, r in zip(wrong, right, strict=True) if w != r
    ]


@pytest.mark.parametrize("sentence", CORRECT_SENTENCES)
def test_correct_sentences_are_left_alone(corrector: Corrector, sentence: str) -> None:
    assert corrector.correct(sentence).text == sentence


def test_protected_terms_are_never_corrected(corrector: Corrector) -> None:
    assert corrector.correct("对不气").text == "对不起"
    protected = corrector.correct("对不气耳机很好用", protected=["对不气"])
    assert protected.text == "对不气耳机很好用"
    assert protected.edits == ()


def test_emoticon_insides_are_never_corrected(corrector: Corrector) -> None:
    assert corrector.correct("[对不气]").text == "[对不气]"


def test_batch_gives_the_same_results_as_one_at_a_time(corrector: Corrector) -> None:
    texts = ["对不气，最近我很忙。", *CORRECT_SENTENCES, "", "ok 123"]
    assert corrector.correct_batch(texts) == [corrector.correct(text) for text in texts]


def test_edit_positions_point_into_the_original(corrector: Corrector) -> None:
    text = "abc对不气"
    (edit,) = corrector.correct(text).edits
    assert text[edit.position] == edit.original == "气"
    assert edit.gain > corrector.params.threshold
