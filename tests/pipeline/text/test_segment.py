from __future__ import annotations

from pipeline.text.segment import Segmenter, get_segmenter, stopwords


def test_protected_terms_are_never_split() -> None:
    words = ["米家扫地机", "华为Mate60"]
    tokens = get_segmenter(tuple(words)).cut("米家扫地机器人和华为mate60都一般")
    assert "米家扫地机" in tokens
    assert "华为mate60" in tokens


def test_precise_mode_without_protected_terms() -> None:
    assert get_segmenter().cut("这家酒店服务很好") == ["这家", "酒店", "服务", "很", "好"]


def test_emoticons_and_emoji_are_single_tokens() -> None:
    tokens = get_segmenter().cut("太差了[怒][哈哈]😡")
    assert tokens[-3:] == ["[怒]", "[哈哈]", "😡"]


def test_stop_words_drop_function_words_but_keep_negation_and_degree() -> None:
    assert {"的", "了", "吧"} <= stopwords()
    assert not {"不", "没", "很", "太"} & stopwords()
    kept = Segmenter().cut("屏幕的颜色不好看了吧", drop_stopwords=True)
    assert kept == ["屏幕", "颜色", "不", "好看"]


def test_white_space_is_never_a_token() -> None:
    assert " " not in get_segmenter().cut("很 好  用")
