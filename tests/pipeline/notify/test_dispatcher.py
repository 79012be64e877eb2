"""The dispatcher against a real store (SQLite and PostgreSQL) and real receivers on loopback:
digests, retries, failures, quiet hours, throttles and silences, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pipeline.notify.dispatcher import Dispatcher
from pipeline.store.deliveries import DeliveryState, add_silence, delivery_counts
from pipeline.store.models import Delivery
from tests.pipeline.notify.conftest import Clock, add, notice, notifications
from tests.utils.receivers import HttpReceiver

pytestmark = pytest.mark.integration


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with HttpReceiver("webhook", secret="s3cret") as receiver:
        yield receiver


def _webhook(receiver: HttpReceiver) -> dict[str, dict[str, object]]:
    return {"hook": {"type": "webhook", "url": receiver.url, "secret": receiver.secret}}


def _deliveries(engine: Engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_a_burst_within_the_group_wait_is_one_signed_message(
        engine: Engine, clock: Clock, hook: HttpReceiver) -> None:
    dispatcher = Dispatcher(engine, notifications(
        _webhook(hook), {"name": "all", "group_by": ["source"], "group_wait": "30s"}), clock)
    add(engine, notice(1))
    dispatcher.run_once()
    clock.advance(seconds=10)
    add(engine, notice(2), notice(3), notice(1))  # the repeated key adds nothing
    dispatcher.run_once()
    assert hook.received == [], "the group waits 30 s for more"

    clock.advance(seconds=21)
    dispatcher.run_once()
    (request,) = hook.received
    body = request.json()
    assert [item["key"] for item in body["notices"]] == [notice(n).key for n in (1, 2, 3)]
    assert body["title"] == "[WARNING] 3 notices (all, source=shop)"
    assert request.headers["x-yuqing-delivery"] == str(body["delivery"])
    (delivery,) = _deliveries(engine)
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 1)

    # The group was notified: what comes next waits for the group interval (5 m by default).
    clock.advance(seconds=1)
    add(engine, notice(4))
    dispatcher.run_once()
    clock.advance(seconds=60)
    dispatcher.run_once()
    assert len(hook.received) == 1
    clock.advance(minutes=4)
    dispatcher.run_once()
    assert [item["key"] for item in hook.received[1].json()["notices"]] == [notice(4).key]


def test_a_refused_signature_fails_at_once(engine: Engine, clock: Clock,
                                           hook: HttpReceiver) -> None:
    channels = {"hook": {"type": "webhook", "url": hook.url, "secret": "wrong"}}
    dispatcher = Dispatcher(engine, notifications(channels, {"name": "all", "group_wait": 0}),
                            clock)
    add(engine, notice(1))
    dispatcher.run_once()
    (delivery,) = _deliveries(engine)
    assert delivery.state == DeliveryState.FAILED and "HTTP 401" in (delivery.last_error or "")
    assert len(hook.received) == 1


def test_a_failed_attempt_is_retried_after_a_backoff(engine: Engine, clock: Clock,
                                                     hook: HttpReceiver) -> None:
    dispatcher = Dispatcher(engine, notifications(_webhook(hook), {"name": "all",
                                                                   "group_wait": 0}), clock)
    hook.statuses.extend([500, 503])
    add(engine, notice(1))
    dispatcher.run_once()
    (delivery,) = _deliveries(engine)
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    assert "HTTP 500" in (delivery.last_error or "")
    dispatcher.run_once()
    assert len(hook.received) == 1, "not before the backoff"
    clock.advance(seconds=1)
    dispatcher.run_once()  # 503: the next pause is twice as long
    clock.advance(seconds=1)
    dispatcher.run_once()
    assert len(hook.received) == 2
    clock.advance(seconds=1)
    dispatcher.run_once()
    (delivery,) = _deliveries(engine)
    assert (delivery.state, delivery.attempts, len(hook.received)) == (DeliveryState.SENT, 3, 3)
    assert {r.headers["x-yuqing-delivery"] for r in hook.received} == {str(delivery.id)}


def test_a_message_is_marked_failed_after_its_attempts(engine: Engine, clock: Clock,
                                                       hook: HttpReceiver) -> None:
    dispatcher = Dispatcher(engine, notifications(_webhook(hook), {"name": "all",
                                                                   "group_wait": 0}), clock)
    hook.statuses.extend([500] * 5)
    add(engine, notice(1))
    for _ in range(5):
        dispatcher.run_once()
        clock.advance(minutes=1)
    (delivery,) = _deliveries(engine)
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 3)
    assert delivery.last_error is not None and delivery.last_error.startswith(
        "attempt 3 of 3: HTTP 500")
    assert len(hook.received) == 3
    with Session(engine) as session:
        assert delivery_counts(session) == {"failed": 1}


def test_an_unreachable_receiver_is_retried(engine: Engine, clock: Clock) -> None:
    with HttpReceiver("webhook") as gone:
        url = gone.url
    dispatcher = Dispatcher(engine, notifications(
        {"hook": {"type": "webhook", "url": url}}, {"name": "all", "group_wait": 0}), clock)
    add(engine, notice(1))
    dispatcher.run_once()
    (delivery,) = _deliveries(engine)
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
    assert "ConnectError" in (delivery.last_error or "")


def test_rules_route_in_order_and_stop_at_the_first_match(engine: Engine, clock: Clock) -> None:
    with HttpReceiver("webhook") as urgent, HttpReceiver("webhook") as rest:
        dispatcher = Dispatcher(engine, notifications(
            {"urgent": {"type": "webhook", "url": urgent.url},
             "rest": {"type": "webhook", "url": rest.url}},
            {"name": "bad", "min_score": 0.95, "channels": ["urgent"], "group_wait": 0,
             "severity": "critical", "continue": True},
            {"name": "jd", "keywords": ["京东"], "channels": ["rest"], "group_wait": 0,
             "group_by": ["..."]},
            {"name": "never", "channels": ["urgent"], "group_wait": 0}), clock)
        add(engine, notice(1, score=0.99), notice(2, score=0.5), notice(3, keywords=("携程",)))
        dispatcher.run_once()
        assert [r.json()["notices"][0]["key"] for r in urgent.received] == [
            notice(1).key, notice(3).key]
        assert urgent.received[0].json()["title"].startswith("[CRITICAL] ")
        assert sorted(r.json()["notices"][0]["key"] for r in rest.received) == [
            notice(1).key, notice(2).key]


def test_quiet_hours_hold_messages_until_they_end(engine: Engine, clock: Clock,
                                                  hook: HttpReceiver) -> None:
    clock.now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    dispatcher = Dispatcher(engine, notifications(
        _webhook(hook),
        {"name": "night", "kinds": ["crawl_health"], "quiet_hours": "22:00-08:00",
         "group_wait": 0},
        {"name": "pager", "quiet_hours": "22:00-08:00", "severity": "critical",
         "group_wait": 0}), clock)
    add(engine, notice(1, kind="crawl_health"), notice(2))
    dispatcher.run_once()
    assert [r.json()["rule"] for r in hook.received] == ["pager"], "critical ignores quiet hours"
    held = _deliveries(engine)[0]
    assert held.last_error == "quiet hours until 2026-12-02T00:00:00+00:00"
    clock.advance(hours=5)
    add(engine, notice(3, kind="crawl_health"))
    dispatcher.run_once()
    assert len(hook.received) == 1
    clock.advance(hours=4)  # 08:00 in Shanghai
    dispatcher.run_once()
    assert [n["key"] for n in hook.received[1].json()["notices"]] == [
        notice(1).key, notice(3).key], "what waited is one digest"


def test_a_throttle_digests_what_waits_for_room(engine: Engine, clock: Clock,
                                                hook: HttpReceiver) -> None:
    dispatcher = Dispatcher(engine, notifications(
        _webhook(hook), {"name": "all", "group_by": ["..."], "group_wait": 0,
                         "throttle": {"max_messages": 2, "period": "1h"}}), clock)
    add(engine, notice(1), notice(2), notice(3))
    dispatcher.run_once()
    assert len(hook.received) == 2
    clock.advance(minutes=10)
    add(engine, notice(4))
    dispatcher.run_once()
    assert len(hook.received) == 2
    clock.advance(minutes=51)
    dispatcher.run_once()
    dispatcher.run_once()
    assert len(hook.received) == 4
    sent = sorted(n["key"] for r in hook.received for n in r.json()["notices"])
    assert sent == sorted(notice(n).key for n in (1, 2, 3, 4))


def test_silences_mute_matching_notices(engine: Engine, clock: Clock,
                                        hook: HttpReceiver) -> None:
    dispatcher = Dispatcher(engine, notifications(_webhook(hook),
                                                  {"name": "all", "group_wait": "10s"}), clock)
    with Session(engine) as session, session.begin():
        add_silence(session, matchers={"keyword": "携程"}, starts_at=clock.now,
                    ends_at=clock.now + timedelta(hours=1), created_by="ops", comment=None)
    add(engine, notice(1, keywords=("携程",)), notice(2))
    dispatcher.run_once()
    states = sorted(d.state for d in _deliveries(engine))
    assert states == [DeliveryState.PENDING, DeliveryState.SILENCED]

    # A silence set while the digest waits takes its notices out of it.
    with Session(engine) as session, session.begin():
        add_silence(session, matchers={"source": "shop", "rule": "all"}, starts_at=clock.now,
                    ends_at=clock.now + timedelta(hours=1), created_by="ops", comment="noisy")
    clock.advance(seconds=11)
    dispatcher.run_once()
    assert hook.received == []
    assert {d.state for d in _deliveries(engine)} == {DeliveryState.SILENCED}

    clock.advance(hours=2)
    add(engine, notice(3))
    dispatcher.run_once()
    clock.advance(seconds=11)
    dispatcher.run_once()
    assert len(hook.received) == 1, "an ended silence mutes nothing"


def test_two_dispatchers_send_each_message_once(engine: Engine, clock: Clock,
                                                hook: HttpReceiver) -> None:
    settings = notifications(_webhook(hook), {"name": "all", "group_by": ["..."],
                                              "group_wait": 0})
    first, second = Dispatcher(engine, settings, clock), Dispatcher(engine, settings, clock)
    add(engine, *(notice(n) for n in range(6)))
    first.route()
    second.route()
    assert len(_deliveries(engine)) == 6
    first.send_due()
    second.send_due()
    assert sorted(r.headers["x-yuqing-delivery"] for r in hook.received) == sorted(
        str(d.id) for d in _deliveries(engine))


def test_a_rule_removed_from_the_config_fails_its_waiting_messages(
        engine: Engine, clock: Clock, hook: HttpReceiver) -> None:
    Dispatcher(engine, notifications(_webhook(hook), {"name": "old"}), clock).route()
    add(engine, notice(1))
    Dispatcher(engine, notifications(_webhook(hook), {"name": "old"}), clock).route()
    clock.advance(minutes=1)
    Dispatcher(engine, notifications(_webhook(hook), {"name": "new"}), clock).run_once()
    (delivery,) = _deliveries(engine)
    assert delivery.state == DeliveryState.FAILED
    assert delivery.last_error == "rule 'old' or channel 'hook' is no longer configured"
