"""Word segmentation with jieba, one tokenizer per process."""

from __future__ import annotations

from collections.abc import Iterable

import jieba


class Segmenter:
    """jieba's precise mode with our protected words added, so names are never split."""

    def __init__(self, user_words: Iterable[str] = ()) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()
        for word in user_words:
            self._tokenizer.add_word(word, freq=None, tag="nz")

    def cut(self, text: str) -> list[str]:
        return [token for token in self._tokenizer.lcut(text, HMM=True) if token.strip()]
