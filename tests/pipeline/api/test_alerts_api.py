"""The REST API's alert routes and its tokens, through FastAPI's test client on the real app
and a migrated SQLite store; ``yuqing serve`` itself is started once on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from devkit.child import child_env
from pipeline.api.app import create_app
from pipeline.broker import free_port
from pipeline.config import Settings
from pipeline.records import AlertRow
from pipeline.store.engine import make_engine
from pipeline.store.models import CrawlRun
from pipeline.store.queries import record_scores
from pipeline.store.tokens import Role, create_token

ROW = AlertRow(
    comment_id="a", source="demo-weibo", url="http://127.0.0.1/a", author=None,
    published_at=None, crawled_at=datetime(2026, 11, 21, tzinfo=UTC), raw_text="京东 差评 太慢",
    clean_text="京东 差评 太慢", tokens=["差评"], keywords=["京东"], label="negative", score=0.9,
    model="lstm", model_version="lstm-1", kafka_topic="comments", kafka_partition=0,
    kafka_offset=0,
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data")


def _store(settings: Settings, rows: list[AlertRow]) -> None:
    engine = make_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        for row in rows:  # one at a time: each its own created_at
            record_scores(session, [row])
    engine.dispose()


def _token(settings: Settings, role: Role) -> str:
    engine = make_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        token = create_token(session, "test", role)
    engine.dispose()
    return token


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    rows = [replace(ROW, comment_id=f"c{n:02d}", kafka_offset=n, score=0.8 + n / 100,
                    source="demo-shop" if n % 2 else "demo-weibo") for n in range(12)]
    _store(settings, rows)
    with TestClient(create_app(settings)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {_token(settings, Role.VIEWER)}"
        yield test_client


def test_every_route_but_healthz_needs_a_valid_token(client: TestClient) -> None:
    anonymous = {"Authorization": ""}
    assert client.get("/healthz", headers=anonymous).json() == {"status": "ok", "store": "ok"}
    for path in ("/alerts", "/alerts/c01"):
        assert client.get(path, headers=anonymous).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer yq_forged"}).status_code == 401
        assert client.get(path).status_code == 200


def test_cursor_pages_list_every_alert_once_newest_first_while_new_ones_arrive(
        client: TestClient, settings: Settings) -> None:
    seen, cursor = [], None
    while True:
        page = client.get("/alerts", params={"limit": 5, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        body = page.json()
        seen += [alert["comment_id"] for alert in body["alerts"]]
        if not seen[5:]:  # after the first page: a new alert arrives, before it
            _store(settings, [replace(ROW, comment_id="late", kafka_offset=99)])
        if (cursor := body["next"]) is None:
            break
    assert seen == [f"c{n:02d}" for n in reversed(range(12))]


def test_filters_combine_and_one_alert_has_its_lineage(client: TestClient) -> None:
    shop = client.get("/alerts", params={"source": "demo-shop", "min_score": 0.85}).json()
    assert [a["comment_id"] for a in shop["alerts"]] == ["c11", "c09", "c07", "c05"]
    assert client.get("/alerts", params={"q": "差评", "keyword": "京东"}).json()["alerts"]
    assert client.get("/alerts", params={"q": "好评"}).json() == {"alerts": [], "next": None}

    one = client.get("/alerts/c03").json()
    assert (one["kafka_topic"], one["kafka_partition"], one["kafka_offset"]) == ("comments", 0, 3)
    assert (one["raw_text"], one["model_version"]) == ("京东 差评 太慢", "lstm-1")
    assert one["crawl_run"] is None, "no crawl of demo-shop's profile is on record"
    assert client.get("/alerts/nope").status_code == 404


def test_an_alert_names_the_crawl_that_brought_it(client: TestClient, settings: Settings
                                                  ) -> None:
    engine = make_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        session.add_all([
            CrawlRun(profile_id="demo-weibo", started_at=ROW.crawled_at + timedelta(minutes=m),
                     finished_at=ROW.crawled_at + timedelta(minutes=m + 2), pages=3, items=9,
                     new_items=n, dead_letters=0, undelivered=0, http_errors={}, retries=0,
                     bans_suspected=0, finish_reason="finished", ok=True)
            for m, n in ((-61, 1), (-1, 7), (5, 2))])
    engine.dispose()
    run = client.get("/alerts/c02").json()["crawl_run"]
    assert (run["profile_id"], run["new_items"]) == ("demo-weibo", 7)
    assert client.get("/alerts/c01").json()["crawl_run"] is None  # demo-shop: another source


@pytest.mark.parametrize("params", [{"cursor": "not-a-cursor"}, {"limit": 0},
                                    {"min_score": 2}, {"since": "yesterday"}])
def test_bad_parameters_are_a_clear_4xx(client: TestClient, params: dict[str, object]) -> None:
    response = client.get("/alerts", params=params)
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]


@pytest.mark.integration
def test_yuqing_serve_answers_on_loopback(settings: Settings) -> None:
    port = free_port()
    token = _token(settings, Role.VIEWER)
    server = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--port", str(port)],
                              env=child_env(settings), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                    assert json.load(answer)["status"] == "ok"
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "yuqing serve did not answer"
                time.sleep(0.2)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/alerts", timeout=5)
        assert refused.value.code == 401
        request = urllib.request.Request(f"{base}/alerts",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.load(answer) == {"alerts": [], "next": None}
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_operators_triage_alerts_viewers_cannot_and_every_change_is_audited(
        client: TestClient, settings: Settings) -> None:
    operator = {"Authorization": f"Bearer {_token(settings, Role.OPERATOR)}"}
    acknowledge = {"action": "acknowledge", "note": "on it"}
    assert client.post("/alerts/c03/actions", json=acknowledge).status_code == 403  # a viewer

    acknowledged = client.post("/alerts/c03/actions", json=acknowledge, headers=operator)
    assert acknowledged.status_code == 200
    assert (acknowledged.json()["status"], acknowledged.json()["verdict"]) == (
        "acknowledged", None)
    wrong = client.post("/alerts/c03/actions", json={"action": "false_positive"},
                        headers=operator).json()
    assert (wrong["status"], wrong["verdict"]) == ("resolved", "false_positive")

    events = client.get("/alerts/c03/events").json()
    assert [(e["action"], e["note"], e["actor"]) for e in events] == [
        ("acknowledge", "on it", "test"), ("false_positive", None, "test")]
    resolved = client.get("/alerts", params={"status": "resolved"}).json()["alerts"]
    assert [a["comment_id"] for a in resolved] == ["c03"]
    metrics = client.get("/metrics").text
    assert 'yuqing_alerts{status="open"} 11.0' in metrics
    assert 'yuqing_alerts{status="resolved"} 1.0' in metrics
    assert client.post("/alerts/nope/actions", json=acknowledge,
                       headers=operator).status_code == 404
    assert client.post("/alerts/c03/actions", json={"action": "delete"},
                       headers=operator).status_code == 422


def test_a_comment_scored_again_keeps_what_the_operator_decided(
        client: TestClient, settings: Settings) -> None:
    operator = {"Authorization": f"Bearer {_token(settings, Role.OPERATOR)}"}
    client.post("/alerts/c01/actions", json={"action": "acknowledge"}, headers=operator)
    edited = replace(ROW, comment_id="c01", kafka_offset=50, raw_text="京东 更差了",
                     crawled_at=datetime(2026, 11, 22, tzinfo=UTC))
    _store(settings, [edited])
    again = client.get("/alerts/c01").json()
    assert (again["raw_text"], again["status"]) == ("京东 更差了", "acknowledged")
