"""The perturbations of the robustness suite: small pure functions of a sentence.

Each one changes how a comment is written in a way people really write, never what it says;
tests pin every one down, so that a rule that silently stopped changing anything is caught.
"""

from __future__ import annotations

import re
from functools import lru_cache

import opencc

_END = re.compile(r"[。！？!?.～~…，,\s]+$")
_LAST_HAN = re.compile(r"([\u4e00-\u9fff])([^\u4e00-\u9fff]*)$")


@lru_cache(maxsize=1)
def _to_traditional() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def strip_end(text: str) -> str:
    """The sentence without its closing punctuation, so that another ending can replace it."""
    return _END.sub("", text)


def end_with(text: str, ending: str) -> str:
    """``太棒了吧。`` with ``！！！`` becomes ``太棒了吧！！！``."""
    return strip_end(text) + ending


def stretch(text: str, times: int) -> str:
    """The last Chinese character written ``times`` times: ``太慢了`` → ``太慢了了了了``."""
    if times < 2:
        raise ValueError("a stretched character appears at least twice")
    return _LAST_HAN.sub(lambda match: match.group(1) * times + match.group(2), text, count=1)


def traditional(text: str) -> str:
    """Simplified characters written in their traditional forms (OpenCC ``s2t``)."""
    return _to_traditional().convert(text)


def full_width(text: str) -> str:
    """Printable ASCII (letters, digits, signs) in its full-width forms: ``App`` → ``Ａｐｐ``."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def swap(text: str, old: str, new: str) -> str:
    """Every ``old`` (a brand) replaced by ``new``; the text must name ``old``."""
    if old not in text:
        raise ValueError(f"{text!r} does not contain {old!r}")
    return text.replace(old, new)


def append(text: str, addition: str) -> str:
    """An emoji, emoticon or link after the text, separated as people separate them."""
    return f"{text} {addition}" if addition.isascii() else text + addition


def prepend(text: str, addition: str) -> str:
    """A mention in front, as a reply starts: ``@小王同学 太好用了``."""
    return f"{addition} {text}"


def contrast(text: str, clause: str) -> str:
    """A clause of the opposite sentiment after the sentence: ``…很好，但是价格太贵了``."""
    return f"{strip_end(text)}，{clause}"
