"""The outbox on SQLite and PostgreSQL: a notice is stored with its transaction or not at all,
and once per key."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pipeline.store.models import OutboxNotice
from pipeline.store.outbox import Notice, NoticeKind, enqueue


def _notice(key: str, title: str = "t") -> Notice:
    return Notice(kind=NoticeKind.SURGE, key=key, title=title, body="12 negative comments",
                  source=None, keywords=("京东",), score=None, url=None)


def _stored(engine: Engine) -> list[tuple[str, str, list[str]]]:
    with Session(engine) as session:
        return [(row.key, row.title, row.keywords)
                for row in session.scalars(select(OutboxNotice).order_by(OutboxNotice.id))]


def test_a_key_is_enqueued_once(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        enqueue(session, [_notice("surge:a"), _notice("surge:a", "again"), _notice("surge:b")])
    with Session(engine) as session, session.begin():
        enqueue(session, [_notice("surge:b", "replayed"), _notice("surge:c")])
        enqueue(session, [])
    assert _stored(engine) == [("surge:a", "t", ["京东"]), ("surge:b", "t", ["京东"]),
                               ("surge:c", "t", ["京东"])]


def test_a_rolled_back_transaction_leaves_no_notice(engine: Engine) -> None:
    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        enqueue(session, [_notice("surge:a")])
        raise RuntimeError("the write that carried it failed")
    assert _stored(engine) == []
