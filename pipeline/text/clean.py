"""Normalise a raw comment into text the models and alert rules can trust."""

from __future__ import annotations

import html
import re
import unicodedata

_URL = re.compile(r"https?://\S+|www\.\S+")
_SPACE = re.compile(r"\s+")


class TextRejected(ValueError):
    """A comment the text stage refuses; ``reason`` goes into its dead-letter record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean(text: str, *, max_chars: int = 2000) -> str:
    """Unescape HTML, drop URLs, fold full-width forms (NFKC) and collapse white space."""
    if len(text) > max_chars:
        raise TextRejected(f"text has {len(text)} characters, more than the limit of {max_chars}")
    text = unicodedata.normalize("NFKC", html.unescape(text))
    text = _SPACE.sub(" ", _URL.sub(" ", text)).strip()
    if not text:
        raise TextRejected("text is empty after cleaning")
    return text
