"""All SQL in one place: the pipeline sink, the CLI and the API share these functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from pipeline.records import AlertRow, DeadLetter
from pipeline.store.models import Alert, StoredDeadLetter


def _dialect(session: Session) -> str:
    name = session.get_bind().dialect.name
    if name not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"the store supports SQLite and PostgreSQL, not {name}")
    return name


def _insert(session: Session, table: Any) -> Any:
    return (postgresql if _dialect(session) == "postgresql" else sqlite).insert(table)


def upsert_alerts(session: Session, rows: Sequence[AlertRow]) -> None:
    """Insert alerts, or refresh the ``AlertRow.RESCORED`` columns of ones already stored, so a
    replayed or re-scored comment updates its alert instead of duplicating it."""
    # One statement may not touch a row twice (PostgreSQL refuses): the latest copy wins.
    latest = list({row.comment_id: row.as_dict() for row in rows}.values())
    if not latest:
        return
    stmt = _insert(session, Alert).values(latest)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Alert.comment_id],
        set_={**{name: stmt.excluded[name] for name in AlertRow.RESCORED},
              "updated_at": datetime.now(UTC)},
    )
    session.execute(stmt)


def add_dead_letters(session: Session, letters: Sequence[DeadLetter]) -> None:
    """Store dead letters; a replayed Kafka topic/partition/offset is recorded once."""
    if not letters:
        return
    rows = [
        {"stage": letter.stage, "reason": letter.reason, "raw": letter.raw,
         "record_id": letter.record_id, "created_at": letter.created_at,
         "kafka_topic": letter.lineage.topic if letter.lineage else None,
         "kafka_partition": letter.lineage.partition if letter.lineage else None,
         "kafka_offset": letter.lineage.offset if letter.lineage else None}
        for letter in letters
    ]
    session.execute(_insert(session, StoredDeadLetter).values(rows).on_conflict_do_nothing())


def _has_keyword(session: Session, keyword: str) -> ColumnElement[bool]:
    if _dialect(session) == "postgresql":
        # Containment is what the GIN index (jsonb_path_ops) serves.
        return type_coerce(Alert.keywords, JSONB).contains([keyword])
    each = func.json_each(Alert.keywords).table_valued("value")
    return exists().where(each.c.value == keyword)


def select_alerts(
    session: Session,
    *,
    since: datetime | None = None,
    source: str | None = None,
    min_score: float | None = None,
    keyword: str | None = None,
    limit: int = 50,
) -> Sequence[Alert]:
    """Newest-worst first: the order an operator triages in. ``keyword`` keeps alerts whose
    keywords include exactly that one."""
    query = select(Alert)
    if since is not None:
        query = query.where(Alert.created_at >= since)
    if source is not None:
        query = query.where(Alert.source == source)
    if min_score is not None:
        query = query.where(Alert.score >= min_score)
    if keyword is not None:
        query = query.where(_has_keyword(session, keyword))
    query = query.order_by(Alert.score.desc(), Alert.created_at.desc()).limit(limit)
    return session.scalars(query).all()


def select_dead_letters(
    session: Session, *, stage: str | None = None, limit: int = 50
) -> Sequence[StoredDeadLetter]:
    """Newest first; ``stage`` keeps those refused by one stage (crawl, parse, text, score)."""
    query = select(StoredDeadLetter)
    if stage is not None:
        query = query.where(StoredDeadLetter.stage == stage)
    return session.scalars(query.order_by(StoredDeadLetter.id.desc()).limit(limit)).all()


def count(session: Session, model: type[Alert] | type[StoredDeadLetter]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def alert_ids(session: Session, ids: Iterable[str] | None = None) -> list[str]:
    query = select(Alert.comment_id)
    if ids is not None:
        query = query.where(Alert.comment_id.in_(list(ids)))
    return list(session.scalars(query))
