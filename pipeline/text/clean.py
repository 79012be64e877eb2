"""Normalise a raw comment into text the models and alert rules can trust.

Each rule is a small named step so that tests can pin it down and a reader can see the order,
which matters: tags go before entities are unescaped (so ``&lt;3`` stays a heart), widths are
folded before URLs and mentions are matched (so ``ｈｔｔｐ://`` is caught), and repeats are bounded
last (so ``好好好好`` split by a URL still collapses).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import opencc

MAX_REPEAT = 3
"""A character or emoticon may repeat at most this often: ``好好好好好`` becomes ``好好好``."""

EMOTICON = re.compile(r"\[[\w\u4e00-\u9fff]{1,8}\]")
"""Site emoticons such as ``[怒]`` or ``[哈哈]``: kept whole, they carry sentiment."""

_TAG = re.compile(r"<[a-zA-Z/!][^<>]*>")
_URL = re.compile(r"(?:https?://|www\.)[\x21-\x7e]+", re.IGNORECASE)
_MENTION = re.compile(r"(?:回复)?@[\w\u4e00-\u9fff\-]{1,30}[:：]?")
_TOPIC = re.compile(r"#([^#\n]{1,40})#")
_INVISIBLE = re.compile(
    r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u2060\ufeff\ufe0e\ufe0f]"
)
_REPEAT = re.compile(rf"(\[[^\[\]]{{1,8}}\]|[^\d\s])\1{{{MAX_REPEAT},}}")
_SPACE = re.compile(r"\s+")
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


class TextRejected(ValueError):
    """A comment the text stage refuses; ``reason`` goes into its dead-letter record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def strip_markup(text: str) -> str:
    """Drop HTML tags, then unescape entities twice because crawled JSON is often double-escaped."""
    return html.unescape(html.unescape(_TAG.sub(" ", text)))


def fold_width(text: str) -> str:
    """Full-width ASCII forms and the ideographic space become their half-width twins."""
    return _INVISIBLE.sub("", text.translate(_FULL_WIDTH))


def drop_links_and_mentions(text: str) -> str:
    """URLs and @mentions state no opinion; topics keep their words, which often name a brand."""
    text = _MENTION.sub(" ", _URL.sub(" ", text))
    return _TOPIC.sub(lambda match: f" {match.group(1).strip()} ", text)


def to_simplified(text: str) -> str:
    """Traditional characters become simplified so that one lexicon and one model cover both."""
    return _to_simplified().convert(text)


def bound_repeats(text: str) -> str:
    """Stretched characters and emoticons are cut to ``MAX_REPEAT``; digits stay (prices)."""
    return _REPEAT.sub(lambda match: match.group(1) * MAX_REPEAT, text)


def clean(text: str, *, max_chars: int = 2000) -> str:
    """Apply every rule in order; raise :class:`TextRejected` for text too long or left empty."""
    if len(text) > max_chars:
        raise TextRejected(f"text has {len(text)} characters, more than the limit of {max_chars}")
    text = drop_links_and_mentions(fold_width(strip_markup(text)))
    text = bound_repeats(to_simplified(text))
    text = _SPACE.sub(" ", text).strip()
    if not text:
        raise TextRejected("text is empty after cleaning")
    return text
