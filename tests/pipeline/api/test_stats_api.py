"""``/stats`` and ``/surges`` through the real app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pipeline.api.app import create_app
from pipeline.config import Settings
from pipeline.records import AlertRow, Surge, SurgeComment, SurgeSubject
from pipeline.store.engine import make_engine
from pipeline.store.queries import record_scores
from pipeline.store.surges import add_surges
from pipeline.store.tokens import Role, create_token

T0 = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
ROW = AlertRow(
    comment_id="a", source="shop", url="http://127.0.0.1/a", author=None, published_at=T0,
    crawled_at=T0, raw_text="差评", clean_text="差评", tokens=["差评"], keywords=["华为"],
    label="negative", score=0.9, model="lstm", model_version="lstm-1", kafka_topic="comments",
    kafka_partition=0, kafka_offset=0,
)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        record_scores(session, [
            ROW, replace(ROW, comment_id="b", label="positive", score=0.1, source="forum"),
            replace(ROW, comment_id="c", published_at=T0 + timedelta(hours=2))])
        add_surges(session, [Surge(
            subject_kind=SurgeSubject.KEYWORD, subject="华为", window_start=T0,
            window_end=T0 + timedelta(minutes=10), count=9, baseline_mean=1.0, baseline_std=0.5,
            threshold=5.0, top_comments=(SurgeComment("a", "差评", 0.9),))])
        token = create_token(session, "grafana", Role.VIEWER)
    engine.dispose()
    with TestClient(create_app(Settings(database_url=database_url))) as test_client:
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


def test_stats_count_total_and_negative_per_bucket_and_group(client: TestClient) -> None:
    answer = client.get("/stats", params={"by": "source"}).json()
    assert (answer["bucket"], answer["by"], answer["tz"]) == ("hour", "source", "UTC")
    series = {s["group"]: [(p["total"], p["negative"], p["share"]) for p in s["points"]]
              for s in answer["series"]}
    assert series == {"forum": [(1, 0, 0.0), (0, 0, None), (0, 0, None)],
                      "shop": [(1, 1, 1.0), (0, 0, None), (1, 1, 1.0)]}
    days = client.get("/stats", params={"bucket": "day", "tz": "Asia/Shanghai"}).json()
    assert [(p["start"], p["total"]) for p in days["series"][0]["points"]] == [
        ("2026-11-29T00:00:00+08:00", 2), ("2026-11-30T00:00:00+08:00", 1)]


def test_stats_refuse_unknown_zones_and_ranges_too_long(client: TestClient) -> None:
    assert client.get("/stats", params={"tz": "Mars/Base"}).status_code == 422
    too_long = client.get("/stats", params={"since": "2020-01-01T00:00:00Z",
                                            "until": "2026-01-01T00:00:00Z"})
    assert too_long.status_code == 422 and "narrow the range" in too_long.json()["detail"]
    assert client.get("/stats", headers={"Authorization": ""}).status_code == 401


def test_surges_name_the_window_count_baseline_and_comments(client: TestClient) -> None:
    [surge] = client.get("/surges", params={"subject_kind": "keyword"}).json()
    assert (surge["subject"], surge["count"], surge["threshold"]) == ("华为", 9, 5.0)
    assert surge["top_comments"] == [{"comment_id": "a", "text": "差评", "score": 0.9}]
    assert client.get("/surges", params={"subject": "小米"}).json() == []
