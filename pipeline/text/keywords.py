"""Which configured brands and products a comment is about, over the cleaned text.

Keywords go through the same width, script and case folding as comments, so ``ＩＰＨＯＮＥ``,
``iphone`` and ``iPhone`` match one configured ``iPhone``, and ``小米手機`` matches ``小米手机``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pipeline.text.clean import fold_width, to_simplified


def fold_keyword(text: str) -> str:
    """The form a keyword and a comment are compared in."""
    return to_simplified(fold_width(text)).casefold()


def protected_pattern(words: Sequence[str], extra: Iterable[str] = ()) -> re.Pattern[str]:
    """One alternation, longest word first, so ``小米手机`` wins over ``小米`` at the same place."""
    ordered = sorted({word for word in words if word}, key=len, reverse=True)
    alternatives = [re.escape(word) for word in ordered] + list(extra)
    return re.compile("|".join(alternatives) or r"(?!)", re.IGNORECASE)


class KeywordMatcher:
    """Finds every configured keyword in a text; the alert says what it concerns with these."""

    def __init__(self, keywords: Iterable[str]) -> None:
        self._keywords = {fold_keyword(word.strip()): word.strip() for word in keywords if word.strip()}

    def match(self, text: str) -> list[str]:
        """Configured spellings of the keywords in ``text``, in order of first appearance."""
        folded = fold_keyword(text)
        found = [(folded.find(key), -len(key), word) for key, word in self._keywords.items()]
        return [word for position, _, word in sorted(found) if position >= 0]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where keywords sit in ``text``, so the corrector can leave those characters alone."""
        folded = fold_keyword(text)
        if len(folded) != len(text):
            folded = text.casefold()
        spans: list[tuple[int, int]] = []
        for key in self._keywords:
            start = folded.find(key)
            while start >= 0:
                spans.append((start, start + len(key)))
                start = folded.find(key, start + 1)
        return sorted(spans)
