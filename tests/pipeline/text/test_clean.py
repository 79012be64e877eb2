from __future__ import annotations

import pytest

from pipeline.text.clean import (
    MAX_REPEAT,
    TextRejected,
    bound_repeats,
    clean,
    drop_links_and_mentions,
    fold_width,
    strip_markup,
    to_simplified,
)


def test_markup_tags_go_and_entities_are_unescaped_even_twice() -> None:
    assert strip_markup("<p>好评<br/>推荐</p>").split() == ["好评", "推荐"]
    assert strip_markup("&amp;quot;赞&amp;quot; &lt;3") == '"赞" <3'


def test_full_width_letters_digits_and_space_become_half_width() -> None:
    assert fold_width("ＡＰＰ１２３\u3000ｏｋ！") == "APP123 ok!"


def test_invisible_characters_are_removed() -> None:
    assert fold_width("好\u200b评\ufeff👍\ufe0f") == "好评👍"


def test_urls_and_mentions_are_dropped_topics_keep_their_words() -> None:
    text = "回复@小王_2: 看 https://t.cn/A6x?a=1 和 www.jd.com #小米手机# 真差"
    assert drop_links_and_mentions(text).split() == ["看", "和", "小米手机", "真差"]


def test_traditional_becomes_simplified() -> None:
    assert to_simplified("這個產品質量很差[淚]") == "这个产品质量很差[泪]"


def test_repeats_are_bounded_but_digits_are_not() -> None:
    assert bound_repeats("好好好好好!!!!!") == "好" * MAX_REPEAT + "!" * MAX_REPEAT
    assert bound_repeats("[怒][怒][怒][怒][怒]") == "[怒]" * MAX_REPEAT
    assert bound_repeats("价格10000000元") == "价格10000000元"
    assert bound_repeats("哈哈哈") == "哈哈哈"


def test_clean_keeps_emoticons_and_emoji_as_written() -> None:
    assert clean("质量太差了[怒]😡") == "质量太差了[怒]😡"


def test_clean_applies_every_rule_and_collapses_space() -> None:
    raw = "<b>回复@客服:</b> 這個ＡＰＰ真的好好好好好差！！！！  http://x.cn/1"
    assert clean(raw) == "这个APP真的好好好差!!!"


def test_too_long_text_is_rejected_with_its_length() -> None:
    with pytest.raises(TextRejected) as caught:
        clean("差" * 11, max_chars=10)
    assert caught.value.reason == "text has 11 characters, more than the limit of 10"


@pytest.mark.parametrize("raw", ["   ", "@某人", "http://t.cn/abc", "<br>"])
def test_text_left_empty_is_rejected(raw: str) -> None:
    with pytest.raises(TextRejected, match="empty after cleaning"):
        clean(raw)
