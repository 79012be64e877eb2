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
        words = [word.strip() for word in keywords if word.strip()]
        self._keywords = {fold_keyword(word): word for word in words}

    def match(self, text: str) -> list[str]:
        """Configured spellings of the keywords in ``text``, in order of first appearance."""
        folded = fold_keyword(text)
        found = [(folded.find(key), -len(key), word) for key, word in self._keywords.items()]
        return [word for position, _, word in sorted(found) if position >= 0]
