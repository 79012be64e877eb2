from __future__ import annotations

from pipeline.text.keywords import KeywordMatcher


def test_matches_in_order_of_appearance_with_configured_spelling() -> None:
    matcher = KeywordMatcher(["小米", "iPhone", "华为"])
    assert matcher.match("iphone比小米好用") == ["iPhone", "小米"]


def test_width_script_and_case_are_folded() -> None:
    matcher = KeywordMatcher(["iPhone", "小米手机"])
    assert matcher.match("ＩＰＨＯＮＥ不如小米手機") == ["iPhone", "小米手机"]


def test_longer_and_shorter_keywords_both_match() -> None:
    assert KeywordMatcher(["小米", "小米手机"]).match("小米手机坏了") == ["小米手机", "小米"]


def test_no_keywords_no_matches() -> None:
    assert KeywordMatcher([]).match("小米手机") == []
    assert KeywordMatcher(["华为"]).match("小米手机") == []
