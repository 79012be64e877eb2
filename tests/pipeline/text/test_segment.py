from __future__ import annotations

import contextlib
import json

import jieba

from models.corpora import corpus_files
from models.data import load_examples
from pipeline.text.clean import EMOTICON, TextRejected, clean
from pipeline.text.keywords import protected_pattern
from pipeline.text.segment import _EMOJI, Segmenter, get_segmenter, stopwords


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


def _held_out_texts() -> list[str]:
    """Every held-out review and every corpus comment, cleaned as the job cleans them."""
    raws = [example.text for example in load_examples("test")]
    for path in corpus_files():
        raws += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]
    texts = []
    for raw in raws:
        with contextlib.suppress(TextRejected):
            texts.append(clean(raw, max_chars=10_000))
    return texts


def test_tokens_are_jiebas_own() -> None:
    """The Rust port cuts the runs of Chinese characters; the tokens must still be exactly those
    jieba gives alone, protected terms and their frequencies included, on real comments."""
    words = ("酒店", "京东", "手机", "华为Mate60")
    reference = jieba.Tokenizer()
    reference.initialize()
    for word in words:
        reference.add_word(word, freq=None, tag="nz")
    protected = protected_pattern(sorted(words, key=len, reverse=True),
                                  extra=(EMOTICON.pattern, _EMOJI.pattern))

    def jieba_alone(text: str) -> list[str]:
        tokens, start = [], 0
        for match in protected.finditer(text):
            tokens += [*reference.lcut(text[start:match.start()], HMM=True), match.group()]
            start = match.end()
        tokens += reference.lcut(text[start:], HMM=True)
        return [token for token in tokens if token.strip()]

    segmenter = Segmenter(words)
    texts = _held_out_texts()
    assert len(texts) > 4000
    differ = [text for text in texts if segmenter.cut(text) != jieba_alone(text)]
    assert not differ, f"{len(differ)} texts cut differently, e.g. {differ[:3]}"
