"""Word segmentation: jieba precise mode, protected terms kept whole, one tokenizer a process.

jieba's user dictionary only makes a name *likely* to survive; the alert rules need a guarantee, so
protected terms and emoticons are cut out first and jieba only sees the text between them.

Segmentation was the largest cost in the stream job, so runs of Chinese characters go to
``rjieba``, the Python binding of the Rust port of jieba, with the same dictionary and HMM and
many times faster. It cuts runs that mix in digits or Latin letters ("2.6kg",
"CHECK-IN") differently from jieba, so those, and everything else, stay with jieba itself. The
tokens are jieba's, which is what the stored alerts have always held; a test compares the two on
every held-out review and corpus comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import jieba
import rjieba

from pipeline.text.clean import EMOTICON
from pipeline.text.keywords import protected_pattern

_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf]")
# jieba's own split of a text into blocks it segments and the rest; the blocks of Chinese
# characters alone are those the Rust port cuts as jieba does.
_BLOCKS = jieba.re_han_default
_IDEOGRAPHS = re.compile("[\u4e00-\u9fd5]+")


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
        self._fast = rjieba.Jieba()
        for word in words:
            self._tokenizer.add_word(word, freq=None, tag="nz")
            # jieba's own frequency for it: the Rust port guesses a different one now and then.
            self._fast.add_word(word, self._tokenizer.FREQ[word], "nz")
        self._protected = protected_pattern(words, extra=(EMOTICON.pattern, _EMOJI.pattern))

    def cut(self, text: str, *, drop_stopwords: bool = False) -> list[str]:
        """Tokens in order; white space never becomes a token."""
        tokens: list[str] = []
        start = 0
        for match in self._protected.finditer(text):
            tokens += self._jieba(text[start : match.start()])
            tokens.append(match.group())
            start = match.end()
        tokens += self._jieba(text[start:])
        dropped = stopwords() if drop_stopwords else frozenset()
        return [token for token in tokens if token.strip() and token not in dropped]

    def _jieba(self, text: str) -> list[str]:
        """jieba's precise-mode tokens (with its HMM for unknown words), white space included."""
        tokens: list[str] = []
        for index, block in enumerate(_BLOCKS.split(text)):
            if not index % 2:  # between the blocks jieba segments, it gives each character alone
                tokens += block
            elif _IDEOGRAPHS.fullmatch(block):
                tokens += self._fast.cut(block, True)
            else:
                tokens += self._tokenizer.lcut(block, HMM=True)
        return tokens


@lru_cache(maxsize=4)
def get_segmenter(user_words: tuple[str, ...] = ()) -> Segmenter:
    """The process-wide segmenter for one word list: jieba's dictionary loads once per worker."""
    return Segmenter(user_words)
