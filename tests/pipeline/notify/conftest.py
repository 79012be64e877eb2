"""Fixtures for the dispatcher's tests: a migrated store on SQLite and PostgreSQL, a clock the
test moves, and helpers that build settings and notices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pipeline.notify_settings import Notifications
from pipeline.store.engine import make_engine
from pipeline.store.outbox import Notice, NoticeKind, enqueue


class Clock:
    """The dispatcher's clock, moved by the test: group waits, backoffs, quiet hours and
    throttles pass in an instant."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 4, 0, tzinfo=UTC))  # 12:00 in Asia/Shanghai


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def notifications(channels: dict[str, dict[str, Any]], *rules: dict[str, Any],
                  **section: Any) -> Notifications:
    """Settings with fast retries: each rule sends to every channel unless it says otherwise."""
    return Notifications.model_validate({
        "channels": {name: {"backoff_s": 1, "max_attempts": 3, "timeout_s": 5, **channel}
                     for name, channel in channels.items()},
        "rules": [{"channels": list(channels), **rule} for rule in rules],
        **section})


def notice(n: int, **fields: Any) -> Notice:
    values: dict[str, Any] = {
        "kind": NoticeKind.ALERT, "key": f"alert:c{n}:comments:0:{n}",
        "title": f"Negative comment on shop (score 0.9{n % 10})", "body": f"差评 number {n}",
        "source": "shop", "keywords": ("京东",), "score": 0.9, "url": f"https://shop/c{n}"}
    return Notice(**{**values, **fields})


def add(engine: Engine, *notices: Notice) -> None:
    with Session(engine) as session, session.begin():
        enqueue(session, notices)
