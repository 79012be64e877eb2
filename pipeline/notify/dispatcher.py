"""The dispatcher: routes the outbox's notices into deliveries and sends those that are due.

Each step is its own transaction, and every decision is in the store before anything is sent, so
a dispatcher may die at any point: a notice is routed exactly once (:func:`mark_routed`), and a
message claimed for sending holds a lease (the channel's timeout plus ``lease_s``). A message
whose lease ran out while it was ``sending`` was interrupted: it may or may not have arrived. On
a channel whose receiver recognises a second copy (``Sender.dedup``) it is sent again, with the
same delivery id; on the others it is marked failed, saying so, rather than posted twice. A
message that fails is tried again after a doubling pause, up to the channel's
``max_attempts``, then marked failed with the last reason.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from pipeline.notify.channels import Sender, SendError, make_sender
from pipeline.notify.render import Message
from pipeline.notify.rules import (
    backoff,
    first_due,
    group_key,
    quiet_until,
    routes,
    silenced_by,
    throttled_until,
)
from pipeline.notify_settings import Notifications, Rule
from pipeline.store.deliveries import (
    DeliveryState,
    active_silences,
    add_delivery,
    aware,
    claim,
    delivery_notices,
    due,
    finish,
    join_open_delivery,
    last_sent_at,
    mark_routed,
    postpone,
    sent_since,
    unrouted,
)
from pipeline.store.models import Delivery

log = logging.getLogger(__name__)

BATCH = 100
"""Notices routed, and messages sent, per pass."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(self, engine: Engine, settings: Notifications, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._settings = settings
        self._clock = clock
        self._rules = {rule.name: rule for rule in settings.rules}
        self.senders: dict[str, Sender] = {name: make_sender(name, channel)
                                           for name, channel in settings.channels.items()}

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set; a store outage is logged and waited out."""
        log.info("notification dispatcher started: %d rules, %d channels",
                 len(self._rules), len(self.senders))
        while not stop.is_set():
            try:
                busy = self.run_once()
            except DBAPIError as error:
                log.warning("notification dispatcher: the store failed (%s); retrying in %g s",
                            str(error.orig).strip().splitlines()[0] if error.orig else error,
                            self._settings.poll_interval_s)
                self._engine.dispose()
                busy = 0
            if not busy:
                stop.wait(self._settings.poll_interval_s)
        log.info("notification dispatcher stopped")

    def run_once(self) -> int:
        """Route new notices and send what is due; how many of either there were."""
        return self.route() + self.send_due()

    def route(self) -> int:
        """Turn each new notice into deliveries: for each rule that takes it and each of the
        rule's channels, join the group's waiting message or start a new one (or record that a
        silence muted it)."""
        now = self._clock()
        with Session(self._engine) as session, session.begin():
            silences = active_silences(session, now)
            notices = unrouted(session, BATCH)
            for notice in notices:
                if not mark_routed(session, notice.id, now):
                    continue
                for rule in routes(self._settings.rules, notice):
                    group = group_key(rule, notice)
                    silence = silenced_by(silences, notice, rule.name)
                    for channel in rule.channels:
                        if silence is not None:
                            add_delivery(session, rule=rule.name, channel=channel,
                                         group_key=group, severity=rule.severity,
                                         state=DeliveryState.SILENCED, due=now,
                                         notice_ids=[notice.id],
                                         reason=f"silenced by silence {silence.id}")
                        elif not join_open_delivery(session, rule.name, channel, group,
                                                    notice.id):
                            last = last_sent_at(session, rule.name, channel, group)
                            add_delivery(session, rule=rule.name, channel=channel,
                                         group_key=group, severity=rule.severity,
                                         state=DeliveryState.PENDING,
                                         due=first_due(rule, now, last), notice_ids=[notice.id])
            return len(notices)

    def send_due(self) -> int:
        with Session(self._engine, expire_on_commit=False) as session:
            candidates = due(session, self._clock(), BATCH)
        for delivery in candidates:
            self._attempt(delivery)
        return len(candidates)

    def _attempt(self, delivery: Delivery) -> None:
        now = self._clock()
        rule = self._rules.get(delivery.rule)
        sender = self.senders.get(delivery.channel)
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            if rule is not None and sender is not None and self._held(session, delivery, rule,
                                                                     now):
                return
            lease = now + timedelta(seconds=(sender.config.timeout_s if sender else 0)
                                    + self._settings.lease_s)
            interrupted = delivery.state == DeliveryState.SENDING
            if not claim(session, delivery, now, lease):
                return
            attempts = delivery.attempts + 1
            if rule is None or sender is None:
                finish(session, delivery.id, DeliveryState.FAILED, now,
                       f"rule {delivery.rule!r} or channel {delivery.channel!r} is no longer "
                       "configured")
                return
            if interrupted and not sender.dedup:
                finish(session, delivery.id, DeliveryState.FAILED, now,
                       "interrupted while sending (the dispatcher stopped): it may have "
                       f"arrived; not sent again, since a {sender.config.type} channel cannot "
                       "recognise a second copy")
                log.warning("delivery %d to %s was interrupted mid-send; marked failed",
                            delivery.id, delivery.channel)
                return
            silences = active_silences(session, now)
            notices = tuple(notice for notice in delivery_notices(session, delivery.id)
                            if silenced_by(silences, notice, rule.name) is None)
            if not notices:
                finish(session, delivery.id, DeliveryState.SILENCED, now,
                       "silenced before it was sent")
                return
        message = Message(delivery.id, rule.name, rule.severity, delivery.group_key, notices)
        error = self._send(sender, message)
        with Session(self._engine) as session, session.begin():
            done = self._clock()
            if error is None:
                finish(session, delivery.id, DeliveryState.SENT, done)
                log.info("sent delivery %d (%d notices) to %s", delivery.id, len(notices),
                         sender.name)
            elif error.permanent or attempts >= sender.config.max_attempts:
                finish(session, delivery.id, DeliveryState.FAILED, done,
                       f"attempt {attempts} of {sender.config.max_attempts}: {error}")
                log.error("delivery %d to %s failed for good after %d attempts: %s",
                          delivery.id, sender.name, attempts, error)
            else:
                retry_at = done + backoff(sender.config.backoff_s, sender.config.backoff_max,
                                          attempts)
                finish(session, delivery.id, DeliveryState.PENDING, done,
                       f"attempt {attempts} of {sender.config.max_attempts}: {error}", retry_at)
                log.warning("delivery %d to %s failed (attempt %d of %d): %s; retrying at %s",
                            delivery.id, sender.name, attempts, sender.config.max_attempts,
                            error, retry_at.isoformat(timespec="seconds"))

    def _held(self, session: Session, delivery: Delivery, rule: Rule, now: datetime) -> bool:
        """Postpone a message not yet tried while its rule's quiet hours or throttle hold it; it
        stays open, so what arrives meanwhile joins the same digest."""
        if delivery.state != DeliveryState.PENDING or delivery.attempts:
            return False
        until = quiet_until(self._settings, rule, now)
        why = "quiet hours"
        if until is None and rule.throttle is not None:
            sent = [aware(moment) for moment in sent_since(
                session, rule.name, delivery.channel, now - rule.throttle.period) if moment]
            until = throttled_until(rule, sent)
            why = "throttled"
        if until is None:
            return False
        postpone(session, delivery.id, until, f"{why} until {until.isoformat(timespec='seconds')}")
        return True

    def _send(self, sender: Sender, message: Message) -> SendError | None:
        try:
            sender.send(message)
        except SendError as error:
            return error
        except Exception as error:
            # A secret's variable unset, a message the channel's library chokes on: this
            # message's fault, not the dispatcher's, so it fails and the others go on.
            log.exception("delivery %d to %s: unexpected error", message.delivery_id, sender.name)
            return SendError(f"{type(error).__name__}: {error}", permanent=True)
        return None

    def test(self, channel: str) -> SendError | None:
        """Send a test message to ``channel`` outside the store; the failure, or None."""
        sender = self.senders[channel]
        notice = _TestNotice(created_at=self._clock())
        return self._send(sender, Message(0, "test", "info", "", (notice,)))


class _TestNotice:
    """What ``yuqing notify test`` sends: shaped like an outbox row, stored nowhere."""

    id = 0
    kind = "test"
    key = "test"
    title = "Yuqing test notification"
    body = "If you can read this, the channel works."
    source = None
    keywords = ()
    score = None
    url = None

    def __init__(self, created_at: datetime) -> None:
        self.created_at = created_at
