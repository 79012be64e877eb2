"""`yuqing alerts` (--keyword, --withdrawn) and `yuqing dead-letters --stage`, as run."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from pipeline.records import AlertRow, DeadLetter, Lineage, Surge, SurgeComment, SurgeSubject
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.queries import add_dead_letters, record_scores
from pipeline.store.surges import add_surges
from tests.pipeline.cli.test_errors import yuqing

ROW = AlertRow(
    comment_id="s:1", source="shop", url="http://127.0.0.1/1", author=None, published_at=None,
    crawled_at=datetime(2026, 11, 30, tzinfo=UTC), raw_text="京东的物流太慢",
    clean_text="京东的物流太慢",
    tokens=["京东", "的", "物流", "太慢"], keywords=["京东"], label="negative", score=0.93,
    model="lstm", model_version="lstm-1.2.0", kafka_topic="comments", kafka_partition=0,
    kafka_offset=2**40,
)  # fmt: skip


def test_alerts_filter_by_watched_keyword_and_dead_letters_by_stage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    with Session(make_engine(url)) as session, session.begin():
        record_scores(session, [ROW, replace(ROW, comment_id="s:2", keywords=["携程"],
                                             raw_text="携程客服不理人")])
        # s:2 edited to praise: its alert is withdrawn, so only --withdrawn shows it.
        record_scores(session, [replace(ROW, comment_id="s:2", label="positive", score=0.1,
                                        raw_text="携程客服很好", kafka_offset=2**40 + 1)])
        add_dead_letters(session, [
            DeadLetter(stage="crawl", reason="bad date", raw=b"{}", lineage=Lineage(
                topic="comments.dead", partition=0, offset=1)),
            DeadLetter(stage="parse", reason="not JSON", raw=b"{", lineage=Lineage(
                topic="comments", partition=0, offset=5))])

    listed = yuqing("alerts", "--keyword", "京东", "--format", "json", YUQING_DATABASE_URL=url)
    assert listed.returncode == 0, listed.stderr
    (alert,) = json.loads(listed.stdout)
    assert (alert["comment_id"], alert["keywords"], alert["kafka_offset"]) == (
        "s:1", ["京东"], 2**40)

    standing = yuqing("alerts", "--format", "json", YUQING_DATABASE_URL=url)
    assert [a["comment_id"] for a in json.loads(standing.stdout)] == ["s:1"], standing.stderr
    withdrawn = yuqing("alerts", "--withdrawn", "--format", "json", YUQING_DATABASE_URL=url)
    (alert,) = json.loads(withdrawn.stdout)
    assert (alert["comment_id"], alert["raw_text"]) == ("s:2", "携程客服很好")
    assert alert["withdrawn_at"] is not None

    letters = yuqing("dead-letters", "--stage", "crawl", YUQING_DATABASE_URL=url)
    assert letters.returncode == 0, letters.stderr
    assert letters.stdout.splitlines() == ["[crawl] comments.dead/0/1 bad date raw=b'{}'"]


def test_stats_and_surges_as_an_operator_reads_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    now = datetime.now(UTC)
    with Session(make_engine(url)) as session, session.begin():
        record_scores(session, [
            replace(ROW, published_at=now - timedelta(hours=1)),
            replace(ROW, comment_id="s:2", label="positive", score=0.1, keywords=["携程"],
                    published_at=now - timedelta(hours=1), raw_text="携程客服很好")])
        add_surges(session, [Surge(
            subject_kind=SurgeSubject.KEYWORD, subject="京东", window_start=now,
            window_end=now + timedelta(minutes=10), count=9, baseline_mean=1.2,
            baseline_std=0.4, threshold=5.0, top_comments=(SurgeComment("s:1", "京东的物流太慢",
                                                                       0.93),))])

    by_keyword = yuqing("stats", "--by", "keyword", "--since", "1d", "--format", "json",
                        YUQING_DATABASE_URL=url)
    assert by_keyword.returncode == 0, by_keyword.stderr
    days = {(row["group"], row["total"], row["negative"]) for row in json.loads(by_keyword.stdout)
            if row["total"]}
    assert days == {("京东", 1, 1), ("携程", 1, 0)}
    table = yuqing("stats", "--since", "1d", YUQING_DATABASE_URL=url)
    assert "50%" in table.stdout, table.stderr
    bad = yuqing("stats", "--tz", "Mars/Base", YUQING_DATABASE_URL=url)
    assert (bad.returncode, "unknown time zone" in bad.stderr) == (2, True)

    surges = yuqing("surges", "--format", "csv", YUQING_DATABASE_URL=url)
    header, row = surges.stdout.splitlines()
    assert header.startswith("id,subject_kind,subject") and ",京东," in row, surges.stderr
