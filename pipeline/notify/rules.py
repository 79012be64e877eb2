"""Routing decisions, as pure functions of a notice, the rules and the clock, so they can be
tested without a store or a channel."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pipeline.notify_settings import Notifications, Rule, Severity


class NoticeLike(Protocol):
    """What routing reads of a notice: the outbox row or a :class:`pipeline.store.outbox.Notice`.
    """

    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def source(self) -> str | None: ...
    @property
    def keywords(self) -> Sequence[str]: ...
    @property
    def score(self) -> float | None: ...


class SilenceLike(Protocol):
    @property
    def matchers(self) -> dict[str, str]: ...


def matches(rule: Rule, notice: NoticeLike) -> bool:
    return ((not rule.kinds or notice.kind in rule.kinds)
            and (not rule.sources or notice.source in rule.sources)
            and (not rule.keywords or any(word in rule.keywords for word in notice.keywords))
            and (rule.min_score is None
                 or (notice.score is not None and notice.score >= rule.min_score)))


def routes(rules: Sequence[Rule], notice: NoticeLike) -> list[Rule]:
    """The rules that take the notice: in order, each that matches, stopping after the first
    matching one without ``continue`` (Alertmanager's routing)."""
    taken = []
    for rule in rules:
        if matches(rule, notice):
            taken.append(rule)
            if not rule.continue_:
                break
    return taken


def group_key(rule: Rule, notice: NoticeLike) -> str:
    """The notice's group within the rule: its values of the rule's ``group_by`` labels. ``...``
    puts each notice in a group of its own, as in Alertmanager."""
    if "..." in rule.group_by:
        return f"key={notice.key}"[:512]
    labels = {"kind": notice.kind, "source": notice.source or "",
              "keyword": ",".join(sorted(notice.keywords))}
    return ",".join(f"{label}={labels[label]}" for label in rule.group_by)[:512]


def silenced_by(silences: Sequence[SilenceLike], notice: NoticeLike, rule: str
                ) -> SilenceLike | None:
    """The first active silence all of whose matchers the notice meets (a ``keyword`` matcher
    is met by any of the notice's keywords)."""
    for silence in silences:
        wanted = silence.matchers
        if (wanted.get("kind", notice.kind) == notice.kind
                and wanted.get("source", notice.source) == notice.source
                and wanted.get("rule", rule) == rule
                and ("keyword" not in wanted or wanted["keyword"] in notice.keywords)):
            return silence
    return None


def first_due(rule: Rule, now: datetime, last_sent: datetime | None) -> datetime:
    """When a new message of the group is first due: after ``group_wait`` for a new group (none
    sent within ``group_interval``), else ``group_interval`` after the group's last message."""
    if last_sent is None or now - last_sent >= rule.group_interval:
        return now + rule.group_wait
    return last_sent + rule.group_interval


def quiet_until(settings: Notifications, rule: Rule, now: datetime) -> datetime | None:
    """The end of the rule's quiet hours if ``now`` is in them and the rule is not critical."""
    if rule.quiet_hours is None or rule.severity == Severity.CRITICAL:
        return None
    end = rule.quiet_hours.end_of(now.astimezone(settings.zone(rule)))
    return end.astimezone(UTC) if end else None


def throttled_until(rule: Rule, sent: Sequence[datetime]) -> datetime | None:
    """When the throttle next has room, given when the rule's messages to a channel went within
    the last period (oldest first); None if it has room now."""
    if rule.throttle is None or len(sent) < rule.throttle.max_messages:
        return None
    return sent[len(sent) - rule.throttle.max_messages] + rule.throttle.period


def backoff(first: timedelta, most: timedelta, attempts: int) -> timedelta:
    """The pause after failed attempt number ``attempts`` (1-based): doubling, capped."""
    return min(first * 2 ** (attempts - 1), most)
