"""Word segmentation: jieba precise mode, protected terms kept whole, one tokenizer a process.

jieba's user dictionary only makes a name *likely* to survive; the alert rules need a guarantee, so
protected terms and emoticons are cut out first and jieba only sees the text between them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import jieba

from pipeline.text.clean import EMOTICON
from pipeline.text.keywords import protected_pattern

_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf]")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Function words only: negations and degree adverbs stay, the sentiment model needs them."""
    text = resources.files("pipeline.text").joinpath("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and line[0] != "#")


class Segmenter:
    """Precise-mode jieba plus the configured brand and product names, which are never split."""

    def __init__(self, user_words: Iterable[str] = ()) -> None:
        words = sorted({word.strip() for word in user_words if word.strip()}, key=len, reverse=True)
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        for word in words:
            self._tokenizer.add_word(word, freq=None, tag="nz")
        self._protected = protected_pattern(words, extra=(EMOTICON.pattern, _EMOJI.pattern))

    def cut(self, text: str, *, drop_stopwords: bool = False) -> list[str]:
        """Tokens in order; white space never becomes a token."""
        tokens: list[str] = []
        start = 0
        for match in self._protected.finditer(text):
            tokens += self._tokenizer.lcut(text[start : match.start()], HMM=True)
            tokens.append(match.group())
            start = match.end()
        tokens += self._tokenizer.lcut(text[start:], HMM=True)
        dropped = stopwords() if drop_stopwords else frozenset()
        return [token for token in tokens if token.strip() and token not in dropped]


@lru_cache(maxsize=4)
def get_segmenter(user_words: tuple[str, ...] = ()) -> Segmenter:
    """The process-wide segmenter for one word list: jieba's dictionary loads once per worker."""
    return Segmenter(user_words)
