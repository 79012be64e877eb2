"""All SQL in one place: the pipeline sink, the CLI and the API share these functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pipeline.store.models import Alert, Base, DeadLetter

# Columns a re-scored comment may change; created_at and the comment itself stay as first seen.
_RESCORED = ("clean_text", "tokens", "keywords", "label", "score", "model", "model_version",
             "kafka_topic", "kafka_partition", "kafka_offset")


def make_engine(url: str) -> Engine:
    """An engine with the schema in place; SQLite waits on locks (the CLI reads beside the sink)."""
    is_sqlite = url.startswith("sqlite")
    connect_args: dict[str, Any] = {"timeout": 30} if is_sqlite else {"connect_timeout": 10}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    Base.metadata.create_all(engine)
    return engine


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upserts are implemented for SQLite and PostgreSQL, not {dialect}")


def upsert_alerts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert alerts, or refresh the score fields of ones already stored (idempotent)."""
    # One statement may not touch a row twice (PostgreSQL refuses): the latest copy wins.
    latest = list({row["comment_id"]: row for row in rows}.values())
    if not latest:
        return
    stmt = _insert(session, Alert).values(latest)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Alert.comment_id],
        set_={**{name: stmt.excluded[name] for name in _RESCORED},
              "updated_at": datetime.now(UTC)},
    )
    session.execute(stmt)


def add_dead_letters(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Store dead letters; a replayed Kafka offset is recorded once."""
    if not rows:
        return
    stmt = _insert(session, DeadLetter).values(list(rows)).on_conflict_do_nothing()
    session.execute(stmt)


def select_alerts(
    session: Session,
    *,
    since: datetime | None = None,
    source: str | None = None,
    min_score: float | None = None,
    limit: int = 50,
) -> Sequence[Alert]:
    """Newest-worst first: the order an operator triages in."""
    query = select(Alert)
    if since is not None:
        query = query.where(Alert.created_at >= since)
    if source is not None:
        query = query.where(Alert.source == source)
    if min_score is not None:
        query = query.where(Alert.score >= min_score)
    query = query.order_by(Alert.score.desc(), Alert.created_at.desc()).limit(limit)
    return session.scalars(query).all()


def select_dead_letters(session: Session, *, limit: int = 50) -> Sequence[DeadLetter]:
    return session.scalars(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)).all()


def count(session: Session, model: type[Alert] | type[DeadLetter]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def alert_ids(session: Session, ids: Iterable[str] | None = None) -> list[str]:
    query = select(Alert.comment_id)
    if ids is not None:
        query = query.where(Alert.comment_id.in_(list(ids)))
    return list(session.scalars(query))
