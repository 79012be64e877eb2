"""A group's notices as one message: a title, plain text (email, Feishu), Markdown (DingTalk,
WeCom) and the structured notices (the generic webhook)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class StoredNotice(Protocol):
    """An outbox row, as the dispatcher reads it."""

    id: int
    kind: str
    key: str
    title: str
    body: str
    source: str | None
    keywords: Sequence[str]
    score: float | None
    url: str | None
    created_at: datetime


@dataclass(frozen=True)
class Message:
    delivery_id: int
    rule: str
    severity: str
    group_key: str
    notices: tuple[StoredNotice, ...]

    @property
    def title(self) -> str:
        prefix = "" if self.severity == "info" else f"[{self.severity.upper()}] "
        if len(self.notices) == 1:
            return prefix + self.notices[0].title
        return f"{prefix}{len(self.notices)} notices ({self.rule}{self._group()})"

    def text(self, limit: int) -> str:
        """Plain text, at most ``limit`` characters: notices that do not fit are counted, not
        cut in half."""
        return self._fit([_plain(notice) for notice in self.notices], limit, self.title + "\n\n")

    def markdown(self, limit: int) -> str:
        return self._fit([_markdown(notice) for notice in self.notices], limit,
                         f"### {self.title}\n\n")

    def as_json(self) -> dict[str, Any]:
        return {"delivery": self.delivery_id, "rule": self.rule, "severity": self.severity,
                "group": self.group_key, "title": self.title,
                "notices": [{"kind": n.kind, "key": n.key, "title": n.title, "body": n.body,
                             "source": n.source, "keywords": list(n.keywords), "score": n.score,
                             "url": n.url, "created_at": n.created_at.isoformat()}
                            for n in self.notices]}

    def _group(self) -> str:
        return f", {self.group_key}" if self.group_key and not self.group_key.startswith(
            "key=") else ""

    @staticmethod
    def _fit(parts: Sequence[str], limit: int, head: str) -> str:
        text = head
        for shown, part in enumerate(parts):
            rest = len(parts) - shown
            more = f"\n… and {rest} more (see `yuqing alerts` or the dashboard)"
            if len(text) + len(part) + len(more) > limit and shown:
                return text + more
            text += part + "\n\n"
        return text.rstrip()[:limit]


def _plain(notice: StoredNotice) -> str:
    link = f"\n{notice.url}" if notice.url else ""
    return f"• {notice.title}\n{notice.body}{link}"


def _markdown(notice: StoredNotice) -> str:
    title = f"[{notice.title}]({notice.url})" if notice.url else notice.title
    body = "\n".join(f"> {line}" for line in notice.body.splitlines())
    return f"**{title}**\n\n{body}"
