"""``yuqing token`` and ``yuqing export feedback`` as an operator runs them, in a fresh process,
against a store the API changed."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from devkit.child import child_env
from pipeline.api.app import create_app
from pipeline.config import Settings
from pipeline.records import AlertRow
from pipeline.store.engine import make_engine
from pipeline.store.queries import record_scores

ROW = AlertRow(
    comment_id="demo-weibo:1", source="demo-weibo", url="http://127.0.0.1/1", author=None,
    published_at=None, crawled_at=datetime(2026, 11, 30, tzinfo=UTC), raw_text="太棒了吧！！！",
    clean_text="太棒了吧！", tokens=[], keywords=[], label="negative", score=0.996, model="lstm",
    model_version="lstm-1.2.0", kafka_topic="comments", kafka_partition=0, kafka_offset=1,
)


def _yuqing(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=child_env(settings),
                          capture_output=True, text=True, timeout=120, check=False)


def test_tokens_are_made_listed_and_revoked_and_marks_export_as_labelled_examples(
        database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data")
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        record_scores(session, [ROW, replace(ROW, comment_id="demo-weibo:2", kafka_offset=2,
                                             raw_text="物流太慢，差评")])
    engine.dispose()
    made = _yuqing(settings, "token", "create", "--name", "alice", "--role", "operator")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("yq_")
    assert _yuqing(settings, "token", "create", "--name", "x", "--role", "admin").returncode == 2

    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        for comment_id, action in (("demo-weibo:1", "false_positive"),
                                   ("demo-weibo:2", "true_positive")):
            marked = client.post(f"/alerts/{comment_id}/actions",
                                 json={"action": action, "note": "checked"})
            assert marked.status_code == 200

        exported = tmp_path / "feedback.jsonl"
        done = _yuqing(settings, "export", "feedback", "--output", str(exported))
        assert done.returncode == 0, done.stderr
        examples = [json.loads(line) for line in exported.read_text().splitlines()]
        assert [(e["text"], e["label"], e["verdict"], e["marked_by"]) for e in examples] == [
            ("太棒了吧！！！", "positive", "false_positive", "alice"),
            ("物流太慢，差评", "negative", "true_positive", "alice")]

        listed = _yuqing(settings, "token", "list").stdout.splitlines()
        assert [line.split("\t")[1:3] for line in listed] == [["alice", "operator"]]
        token_id = listed[0].split("\t")[0]
        assert _yuqing(settings, "token", "revoke", token_id).returncode == 0
        assert client.get("/alerts").status_code == 401
        assert "revoked" in _yuqing(settings, "token", "list").stdout
        assert _yuqing(settings, "token", "revoke", "999999").returncode == 2
