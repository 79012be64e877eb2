"""The API's operations routes: dead letters, crawl health and ``/metrics``, read from the
store through FastAPI's test client on the real app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pipeline.api.app import create_app
from pipeline.config import Settings
from pipeline.kafka_server import KafkaServer
from pipeline.records import DeadLetter, Lineage
from pipeline.store.engine import make_engine
from pipeline.store.models import CrawlRun, SourceAlert
from pipeline.store.queries import add_dead_letters
from pipeline.store.tokens import Role, create_token
from tests.utils.brokers import commit, own_topics, produce_to

START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        add_dead_letters(session, [
            DeadLetter(stage="parse", reason="not JSON", raw=b"\xff{",
                       lineage=Lineage(topic="comments", partition=0, offset=7)),
            DeadLetter(stage="crawl", reason="text: missing", raw=b'{"id": "x"}')])
        session.add_all([
            CrawlRun(profile_id=profile, started_at=START, finished_at=START, pages=3, items=9,
                     new_items=2, dead_letters=0, undelivered=0, http_errors=errors, retries=0,
                     bans_suspected=0, finish_reason="finished", ok=not errors)
            for profile, errors in (("demo-weibo", {}), ("demo-shop", {"500": 4}))])
        session.add(SourceAlert(profile_id="demo-shop", kind="failing", detail="2 of 3 failed"))
        token = create_token(session, "grafana", Role.VIEWER)
    engine.dispose()
    with TestClient(create_app(Settings(database_url=database_url))) as test_client:
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


def test_dead_letters_show_their_reason_stage_and_lineage(client: TestClient) -> None:
    letters = client.get("/dead-letters").json()
    assert [(d["stage"], d["reason"]) for d in letters] == [
        ("crawl", "text: missing"), ("parse", "not JSON")]
    assert letters[1]["raw"] == "\ufffd{" and letters[1]["kafka_offset"] == 7
    assert [d["stage"] for d in client.get("/dead-letters", params={"stage": "parse"}).json()] \
        == ["parse"]


def test_crawl_health_lists_crawls_and_open_crawl_alerts(client: TestClient) -> None:
    runs = client.get("/crawls", params={"profile": "demo-shop"}).json()
    assert [(r["ok"], r["http_errors"]) for r in runs] == [(False, {"500": 4})]
    assert len(client.get("/crawls").json()) == 2
    alerts = client.get("/crawls/alerts").json()
    assert [(a["profile_id"], a["kind"], a["resolved_at"]) for a in alerts] == [
        ("demo-shop", "failing", None)]


def test_metrics_are_prometheus_text_and_need_a_token(client: TestClient) -> None:
    assert client.get("/metrics", headers={"Authorization": ""}).status_code == 401
    answer = client.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain")
    assert "yuqing_kafka_up 0.0" in answer.text, "no broker runs in this test"
    for line in ('yuqing_dead_letters{stage="parse"} 1.0',
                 'yuqing_dead_letters{stage="crawl"} 1.0',
                 'yuqing_crawl_health_alerts{kind="failing",profile="demo-shop"} 1.0'):
        assert line in answer.text


@pytest.mark.integration
def test_metrics_give_the_jobs_consumer_lag_per_partition(
        database_url: str, apache_kafka: KafkaServer) -> None:
    topic = f"api-lag-{uuid4().hex[:8]}"  # the broker is the session's: a topic of our own
    settings = own_topics(apache_kafka.bootstrap, topic, database_url=database_url)
    produce_to(settings, partition=1, count=7)
    commit(settings, partition=1, offset=3)
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        token = create_token(session, "prometheus", Role.VIEWER)
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        text = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    assert "yuqing_kafka_up 1.0" in text
    assert f'yuqing_consumer_lag{{partition="1",topic="{topic}"}} 4.0' in text
    assert f'yuqing_consumer_lag{{partition="0",topic="{topic}"}} 0.0' in text
