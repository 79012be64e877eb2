"""The notification dispatcher's SQL: routing outbox notices into deliveries, claiming due
deliveries with a lease, recording each attempt, and operators' silences.

Every state change is a conditional ``UPDATE`` whose row count says whether this caller won it,
so two dispatchers (or one restarted while its old lease runs) never both route a notice or both
send a message: on PostgreSQL the loser waits on the row lock and then sees the changed row; on
SQLite writers are serialised anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from pipeline.store.models import Delivery, DeliveryNotice, OutboxNotice, Silence


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its time: group wait, quiet hours, throttle or backoff
    SENDING = "sending"  # claimed by a dispatcher until lease_until
    SENT = "sent"
    FAILED = "failed"
    SILENCED = "silenced"


def unrouted(session: Session, limit: int) -> Sequence[OutboxNotice]:
    """The oldest notices no dispatcher has routed yet."""
    return session.scalars(select(OutboxNotice).where(OutboxNotice.routed_at.is_(None))
                           .order_by(OutboxNotice.id).limit(limit)).all()


def mark_routed(session: Session, notice_id: int, now: datetime) -> bool:
    """Take the notice for routing; False if another dispatcher already has."""
    result = session.execute(update(OutboxNotice)
                             .where(OutboxNotice.id == notice_id, OutboxNotice.routed_at.is_(None))
                             .values(routed_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def join_open_delivery(session: Session, rule: str, channel: str, group_key: str,
                       notice_id: int) -> bool:
    """Add the notice to its group's message still waiting for its first attempt, if there is
    one (the digest); False if there is none, or it was claimed meanwhile."""
    open_id = session.scalar(
        select(Delivery.id).where(Delivery.rule == rule, Delivery.channel == channel,
                                  Delivery.group_key == group_key,
                                  Delivery.state == DeliveryState.PENDING,
                                  Delivery.attempts == 0)
        .order_by(Delivery.id.desc()).limit(1))
    if open_id is None:
        return False
    # The no-op update locks the row, so a claim cannot slip in between it and the insert.
    locked = session.execute(update(Delivery)
                             .where(Delivery.id == open_id, Delivery.state == DeliveryState.PENDING,
                                    Delivery.attempts == 0)
                             .values(attempts=0))
    if not locked.rowcount:  # type: ignore[attr-defined]
        return False
    session.add(DeliveryNotice(delivery_id=open_id, outbox_id=notice_id))
    return True


def add_delivery(session: Session, *, rule: str, channel: str, group_key: str, severity: str,
                 state: DeliveryState, due: datetime, notice_ids: Sequence[int],
                 reason: str | None = None) -> int:
    delivery = Delivery(rule=rule, channel=channel, group_key=group_key, severity=severity,
                        state=state, attempts=0, next_attempt_at=due, last_error=reason)
    session.add(delivery)
    session.flush()
    session.add_all(DeliveryNotice(delivery_id=delivery.id, outbox_id=notice_id)
                    for notice_id in notice_ids)
    return delivery.id


def last_sent_at(session: Session, rule: str, channel: str, group_key: str) -> datetime | None:
    """When the group last had a message sent: what ``group_interval`` counts from."""
    last = session.scalar(select(func.max(Delivery.sent_at))
                          .where(Delivery.rule == rule, Delivery.channel == channel,
                                 Delivery.group_key == group_key,
                                 Delivery.state == DeliveryState.SENT))
    return aware(last) if last is not None else None


def sent_since(session: Session, rule: str, channel: str, since: datetime) -> Sequence[datetime]:
    """When each of the rule's messages to the channel sent after ``since`` went, oldest first:
    the throttle's window."""
    return session.scalars(select(Delivery.sent_at)
                           .where(Delivery.rule == rule, Delivery.channel == channel,
                                  Delivery.state == DeliveryState.SENT, Delivery.sent_at >= since)
                           .order_by(Delivery.sent_at)).all()


def due(session: Session, now: datetime, limit: int) -> Sequence[Delivery]:
    """Messages whose time has come, and messages whose sender's lease ran out (it died)."""
    return session.scalars(
        select(Delivery)
        .where(or_(and_(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now),
                   and_(Delivery.state == DeliveryState.SENDING, Delivery.lease_until <= now)))
        .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)).all()


def claim(session: Session, delivery: Delivery, now: datetime, lease_until: datetime) -> bool:
    """Take the message for one attempt, as :func:`due` found it; False if another dispatcher
    took it first."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, Delivery.state == delivery.state,
               Delivery.attempts == delivery.attempts)
        .values(state=DeliveryState.SENDING, attempts=Delivery.attempts + 1,
                lease_until=lease_until, next_attempt_at=now)
        .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def postpone(session: Session, delivery_id: int, until: datetime, why: str) -> None:
    """Hold a message not yet tried (quiet hours, throttle); it stays open for more notices."""
    session.execute(update(Delivery).where(Delivery.id == delivery_id,
                                           Delivery.state == DeliveryState.PENDING,
                                           Delivery.attempts == 0)
                    .values(next_attempt_at=until, last_error=why))


def finish(session: Session, delivery_id: int, state: DeliveryState, now: datetime,
           error: str | None = None, retry_at: datetime | None = None) -> None:
    """Record an attempt's outcome: sent, failed for good, silenced, or pending again until
    ``retry_at``."""
    values: dict[str, Any] = {"state": state, "lease_until": None, "last_error": error}
    if state == DeliveryState.SENT:
        values["sent_at"] = now
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    session.execute(update(Delivery).where(Delivery.id == delivery_id).values(values))


def delivery_notices(session: Session, delivery_id: int) -> Sequence[OutboxNotice]:
    return session.scalars(select(OutboxNotice).join(
        DeliveryNotice, DeliveryNotice.outbox_id == OutboxNotice.id)
        .where(DeliveryNotice.delivery_id == delivery_id).order_by(OutboxNotice.id)).all()


def delivery_counts(session: Session) -> dict[str, int]:
    """Messages by state (for ``/metrics``)."""
    return dict(session.execute(select(Delivery.state, func.count())  # type: ignore[arg-type]
                                .group_by(Delivery.state)).all())


def select_deliveries(session: Session, limit: int = 100) -> Sequence[Delivery]:
    return session.scalars(select(Delivery).order_by(Delivery.id.desc()).limit(limit)).all()


def active_silences(session: Session, now: datetime) -> Sequence[Silence]:
    return session.scalars(select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now)
                           .order_by(Silence.id)).all()


def select_silences(session: Session, since: datetime, limit: int = 200) -> Sequence[Silence]:
    """Silences still in force or to come, and those that ended after ``since``, newest first."""
    return session.scalars(select(Silence).where(Silence.ends_at > since)
                           .order_by(Silence.id.desc()).limit(limit)).all()


def add_silence(session: Session, *, matchers: dict[str, str], starts_at: datetime,
                ends_at: datetime, created_by: str, comment: str | None) -> Silence:
    silence = Silence(matchers=matchers, starts_at=starts_at, ends_at=ends_at,
                      created_by=created_by, comment=comment)
    session.add(silence)
    session.flush()
    return silence


def expire_silence(session: Session, silence_id: int, now: datetime, by: str) -> Silence | None:
    """End the silence now (kept, for the record, with who ended it); None if there is no such
    silence. One already over is left as it was."""
    silence = session.get(Silence, silence_id)
    if silence is not None and aware(silence.ends_at) > now:
        silence.ends_at = now
        silence.expired_by = by
        if aware(silence.starts_at) > now:
            silence.starts_at = now
        session.flush()
    return silence


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for the UTC ones it was given (all of ours are UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
