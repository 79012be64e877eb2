"""Seeding a store in bulk, each alert with its own stored time; and the cursor's paging over
alerts stored at the same instant, which the seed makes easy to produce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pipeline.records import AlertRow
from pipeline.store.bulk import load_alerts, settle
from pipeline.store.queries import page_alerts

START = datetime(2026, 11, 1, tzinfo=UTC)


def _row(n: int, created: datetime) -> dict[str, object]:
    row = AlertRow(
        comment_id=f"c{n:03d}", source="demo-shop", url=f"http://127.0.0.1/{n}", author=None,
        published_at=None, crawled_at=created, raw_text="太差了", clean_text="太差了",
        tokens=[], keywords=["京东"], label="negative", score=0.9, model="lstm",
        model_version="lstm-1", kafka_topic="comments", kafka_partition=0, kafka_offset=n,
    )  # fmt: skip
    return {**row.as_dict(), "created_at": created, "updated_at": created}


def test_pages_walk_alerts_stored_at_the_same_instant_once_each(engine: Engine) -> None:
    # Three alerts an hour for ten hours: every page boundary falls inside a tie.
    rows = [_row(n, START + timedelta(hours=n // 3)) for n in range(30)]
    with Session(engine) as session, session.begin():
        load_alerts(session, rows)
        settle(session)
    seen, after = [], None
    with Session(engine) as session:
        while page := page_alerts(session, after=after, limit=4):
            seen += [alert.comment_id for alert in page]
            after = (page[-1].created_at, page[-1].comment_id)
        since = page_alerts(session, since=START + timedelta(hours=8), limit=50)
    newest_first = sorted(rows, key=lambda row: (row["created_at"], row["comment_id"]),
                          reverse=True)
    assert seen == [row["comment_id"] for row in newest_first]
    assert [alert.comment_id for alert in since] == seen[:6]
