"""``/silences`` as the dashboard uses it, and the notification counts on ``/metrics``, on the
real app over SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pipeline.api.app import create_app
from pipeline.config import Settings
from pipeline.store.deliveries import DeliveryState, add_delivery, finish
from pipeline.store.engine import make_engine
from pipeline.store.tokens import Role, create_token


@dataclass(frozen=True)
class Api:
    client: TestClient
    viewer: dict[str, str]
    operator: dict[str, str]


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        viewer = create_token(session, "grafana", Role.VIEWER)
        operator = create_token(session, "alice", Role.OPERATOR)
        for state in (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.FAILED):
            delivery = add_delivery(session, rule="r", channel="c", group_key="", severity="info",
                                    state=DeliveryState.PENDING, due=now, notice_ids=[1])
            finish(session, delivery, state, now)
    engine.dispose()
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        yield Api(client, {"Authorization": f"Bearer {viewer}"},
                  {"Authorization": f"Bearer {operator}"})


def _later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def test_an_operator_sets_lists_and_ends_a_silence(api: Api) -> None:
    made = api.client.post("/silences", headers=api.operator, json={
        "matchers": {"source": "demo-weibo", "keyword": "京东"}, "ends_at": _later(hours=2),
        "comment": "known outage"})
    assert made.status_code == 201, made.text
    silence = made.json()
    assert (silence["created_by"], silence["active"], silence["matchers"]) == (
        "alice", True, {"source": "demo-weibo", "keyword": "京东"})
    later = api.client.post("/silences", headers=api.operator, json={
        "matchers": {"kind": "surge"}, "starts_at": _later(hours=1), "ends_at": _later(hours=3)})
    assert later.json()["active"] is False

    listed = api.client.get("/silences", headers=api.viewer).json()
    assert [s["id"] for s in listed] == [later.json()["id"], silence["id"]]

    assert api.client.delete(f"/silences/{silence['id']}",
                             headers=api.operator).status_code == 204
    assert [s["id"] for s in api.client.get("/silences", headers=api.viewer).json()] == [
        later.json()["id"]]
    ended = api.client.get("/silences", params={"expired": True}, headers=api.viewer).json()
    assert [(s["id"], s["active"], s["expired_by"]) for s in ended] == [
        (later.json()["id"], False, None), (silence["id"], False, "alice")]
    assert api.client.delete("/silences/999", headers=api.operator).status_code == 404


def test_a_viewer_may_only_look(api: Api) -> None:
    body = {"matchers": {"kind": "alert"}, "ends_at": _later(hours=1)}
    assert api.client.post("/silences", headers=api.viewer, json=body).status_code == 403
    assert api.client.delete("/silences/1", headers=api.viewer).status_code == 403
    assert api.client.get("/silences").status_code == 401


@pytest.mark.parametrize("body", [
    {"matchers": {}, "ends_at": _later(hours=1)},
    {"matchers": {"kind": "weather"}, "ends_at": _later(hours=1)},
    {"matchers": {"kind": "alert", "severity": "x"}, "ends_at": _later(hours=1)},
    {"matchers": {"kind": "alert"}, "ends_at": _later(hours=-1)},
    {"matchers": {"kind": "alert"}, "ends_at": "2030-01-01T00:00:00"},  # no time zone
    {"matchers": {"kind": "alert"}, "ends_at": "0001-01-01T00:00:00+05:00"},
    {"matchers": {"kind": "alert"}, "starts_at": _later(hours=2), "ends_at": _later(hours=1)},
])
def test_a_silence_that_cannot_work_is_refused(api: Api, body: dict[str, object]) -> None:
    assert api.client.post("/silences", headers=api.operator, json=body).status_code == 422


def test_metrics_count_notifications_sent_and_failed(api: Api) -> None:
    text = api.client.get("/metrics", headers=api.viewer).text
    for line in ('yuqing_notifications{state="sent"} 1.0',
                 'yuqing_notifications{state="failed"} 2.0',
                 'yuqing_notifications{state="pending"} 0.0'):
        assert line in text
