"""What operators do with alerts: acknowledge, resolve, reopen, and say whether an alert was
right, each with a note and who did it, kept as an audit trail.

An alert's ``status`` is its place in the work (open → acknowledged → resolved, or reopened);
its ``verdict`` is the operator's judgement of the score (``true_positive`` /
``false_positive``), which later tuning can learn from. Marking a false positive also resolves
the alert: nothing is left to do about it. The job never touches either column, so a comment
scored again after an edit keeps what the operator decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.store.models import Alert, AlertEvent


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Verdict(StrEnum):
    TRUE_POSITIVE = "true_positive"
    FALSE_POSITIVE = "false_positive"


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    TRUE_POSITIVE = "true_positive"
    FALSE_POSITIVE = "false_positive"


# What each action sets: (status, verdict); None leaves it as it is.
_EFFECTS: dict[Action, tuple[AlertStatus | None, Verdict | None]] = {
    Action.ACKNOWLEDGE: (AlertStatus.ACKNOWLEDGED, None),
    Action.RESOLVE: (AlertStatus.RESOLVED, None),
    Action.REOPEN: (AlertStatus.OPEN, None),
    Action.TRUE_POSITIVE: (None, Verdict.TRUE_POSITIVE),
    Action.FALSE_POSITIVE: (AlertStatus.RESOLVED, Verdict.FALSE_POSITIVE),
}


def act_on_alert(session: Session, comment_id: str, action: Action, actor: str,
                 note: str | None = None) -> Alert | None:
    """Applies ``action`` to the alert and records it; None if there is no such alert."""
    alert = session.get(Alert, comment_id, with_for_update=True)
    if alert is None:
        return None
    status, verdict = _EFFECTS[action]
    if status is not None:
        alert.status = status.value
    if verdict is not None:
        alert.verdict = verdict.value
    session.add(AlertEvent(comment_id=comment_id, action=action.value, note=note, actor=actor))
    session.flush()
    return alert


def alert_events(session: Session, comment_id: str) -> Sequence[AlertEvent]:
    """What operators did to the alert, oldest first."""
    return session.scalars(select(AlertEvent).where(AlertEvent.comment_id == comment_id)
                           .order_by(AlertEvent.at, AlertEvent.id)).all()


def judged_alerts(session: Session) -> list[tuple[Alert, AlertEvent]]:
    """Every alert an operator judged (true or false positive), with the judgement's event,
    oldest judgement first: the labelled examples ``yuqing export feedback`` writes."""
    judgements = (select(AlertEvent)
                  .where(AlertEvent.action.in_([Action.TRUE_POSITIVE, Action.FALSE_POSITIVE]))
                  .order_by(AlertEvent.at, AlertEvent.id))
    latest = {event.comment_id: event for event in session.scalars(judgements)}
    alerts = {alert.comment_id: alert for alert in session.scalars(
        select(Alert).where(Alert.comment_id.in_(list(latest))))} if latest else {}
    return sorted(((alerts[comment_id], event) for comment_id, event in latest.items()
                   if comment_id in alerts), key=lambda pair: (pair[1].at, pair[1].id))
