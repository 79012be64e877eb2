"""All SQL in one place: the pipeline sink, the CLI and the API share these functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from pipeline.records import AlertRow, DeadLetter, Label
from pipeline.store.models import (
    Alert,
    AlertVersion,
    Base,
    Comment,
    CommentKeyword,
    StoredDeadLetter,
)


def _dialect(session: Session) -> str:
    name = session.get_bind().dialect.name
    if name not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"the store supports SQLite and PostgreSQL, not {name}")
    return name


def insert_for(session: Session, table: Any) -> Any:
    """An INSERT with the dialect's ON CONFLICT clauses, which upserts and replays need.

    The job's writes execute it with a list of parameter sets rather than ``.values(rows)``: a
    multi-row VALUES clause is a new statement for every batch size, compiled afresh each time
    (a sixth of the job's CPU in a profile), while one statement executed for many rows is
    compiled once and cached, and SQLAlchemy still sends the rows in few round trips.
    """
    return (postgresql if _dialect(session) == "postgresql" else sqlite).insert(table)


# What history keeps of a version: its text, its score and where it came from.
_VERSION_COLUMNS = tuple(column.key for column in AlertVersion.__table__.columns
                         if column.key not in ("id", "recorded_at"))


# What the comments table keeps of a scored row (the rest is the alert's).
_COMMENT_COLUMNS = tuple(column.key for column in Comment.__table__.columns
                         if column.key not in ("at", "updated_at"))


def _not_older(crawled_at: Any, kafka_offset: Any,
               table: type[Alert] | type[Comment] = Alert) -> ColumnElement[bool]:
    """Whether the version ``(crawled_at, kafka_offset)`` is at least as new as the one stored
    in ``table``: crawled later, or at the same instant and arriving later (the same id is the
    same key, so the same partition). Checked in SQL, so an old replay loses even to a
    concurrent write."""
    return or_(table.crawled_at < crawled_at,
               and_(table.crawled_at == crawled_at, table.kafka_offset <= kafka_offset))


def _stored(row: AlertRow) -> dict[str, Any]:
    # SQLite keeps a date's wall-clock digits without their offset: in UTC they sort in time
    # order, which the version comparison needs.
    return {**row.as_dict(), "crawled_at": row.crawled_at.astimezone(UTC)}


def record_scores(session: Session, rows: Sequence[AlertRow]) -> list[AlertRow]:
    """Bring each comment's alert to its latest version, keep every version in history, and
    count the comment (:func:`record_comments`); return the rows that raised an alert or
    reinstated a withdrawn one, which are what a notification is sent for.

    The latest version wins (see :class:`AlertRow`): a negative one raises the alert or
    refreshes and reinstates it; a positive one withdraws a standing alert, replacing its
    content, and never creates one; an older version, replayed, changes nothing. Each text a
    comment with an alert has had is recorded once in ``alert_versions``, as first seen, however
    often it is replayed or sent again.
    """
    # Oldest first, so the newest version of each comment in the batch is the one upserted: one
    # statement may not touch a row twice (PostgreSQL refuses).
    ordered = sorted(map(_stored, rows), key=lambda row: (row["crawled_at"], row["kafka_offset"]))
    latest = {row["comment_id"]: row for row in ordered}.values()
    negatives = [row for row in latest if row["label"] == Label.NEGATIVE]
    positives = [row for row in latest if row["label"] != Label.NEGATIVE]
    record_comments(session, list(latest))
    standing_before = _standing(session, [row["comment_id"] for row in negatives])
    now = datetime.now(UTC)
    if negatives:
        stmt = insert_for(session, Alert.__table__)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Alert.comment_id],
            set_={**{name: stmt.excluded[name] for name in AlertRow.VERSIONED},
                  "withdrawn_at": None, "updated_at": now},
            where=_not_older(stmt.excluded.crawled_at, stmt.excluded.kafka_offset),
        )
        session.execute(stmt, negatives)
    if positives:
        alerts = Alert.__table__
        # Parameters are prefixed: SQLAlchemy reserves the column names for its own.
        withdraw = (
            update(alerts)
            .where(alerts.c.comment_id == bindparam("id"),
                   _not_older(bindparam("v_crawled_at"), bindparam("v_kafka_offset")))
            .values({**{name: bindparam(f"v_{name}") for name in AlertRow.VERSIONED},
                     "withdrawn_at": func.coalesce(alerts.c.withdrawn_at, now),
                     "updated_at": now})
        )
        session.execute(withdraw, [
            {"id": row["comment_id"], **{f"v_{name}": row[name] for name in AlertRow.VERSIONED}}
            for row in positives
        ])
    alerted = set(alert_ids(session, {row["comment_id"] for row in ordered}))
    versions = [{name: row[name] for name in _VERSION_COLUMNS}
                for row in _new_texts(session, [row for row in ordered
                                                if row["comment_id"] in alerted])]
    if versions:
        session.execute(insert_for(session, AlertVersion.__table__).on_conflict_do_nothing(),
                        versions)
    raised = _standing(session, [row["comment_id"] for row in negatives]) - standing_before
    newest = {row.comment_id: row for row in sorted(rows, key=_version_order)}
    return [newest[comment_id] for comment_id in sorted(raised)]


def _version_order(row: AlertRow) -> tuple[datetime, int]:
    return row.crawled_at.astimezone(UTC), row.kafka_offset


def _standing(session: Session, ids: list[str]) -> set[str]:
    """Those of ``ids`` whose alert stands (raised and not withdrawn)."""
    if not ids:
        return set()
    return set(session.scalars(select(Alert.comment_id).where(
        Alert.comment_id.in_(ids), Alert.withdrawn_at.is_(None))))


def record_comments(session: Session, rows: list[dict[str, Any]]) -> None:
    """Count each comment at its latest version, negative or not (``rows``: one per comment, as
    :func:`_stored` gives them), and list the keywords it mentions. An older version, replayed,
    changes nothing, as for alerts."""
    if not rows:
        return
    values = [{name: row[name] for name in _COMMENT_COLUMNS}
              | {"at": (row["published_at"] or row["crawled_at"]).astimezone(UTC),
                 "updated_at": datetime.now(UTC)} for row in rows]
    stmt = insert_for(session, Comment.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Comment.comment_id],
        set_={name: stmt.excluded[name] for name in (*_COMMENT_COLUMNS, "at", "updated_at")
              if name not in ("comment_id", "source")},
        where=_not_older(stmt.excluded.crawled_at, stmt.excluded.kafka_offset, Comment),
    )
    session.execute(stmt, values)
    ids = [row["comment_id"] for row in rows]
    session.execute(delete(CommentKeyword).where(CommentKeyword.comment_id.in_(ids)))
    mentions = [{"comment_id": comment_id, "keyword": keyword}
                for comment_id, keywords in session.execute(
                    select(Comment.comment_id, Comment.keywords)
                    .where(Comment.comment_id.in_(ids)))
                for keyword in dict.fromkeys(keywords)]
    if mentions:
        session.execute(insert_for(session, CommentKeyword.__table__), mentions)


def _new_texts(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows, oldest first, whose text their comment has not had before.

    A comment sent again unchanged (a second crawl, a crawl retried after a broker outage) is no
    new version: it arrives at a new Kafka position, so only its text tells it is the same.
    Comments are keyed by id on Kafka, so all versions of one pass through one partition and one
    writer, in order: no other writer races this check.
    """
    ids = {row["comment_id"] for row in rows}
    seen = {(comment_id, text) for comment_id, text in session.execute(
        select(AlertVersion.comment_id, AlertVersion.raw_text)
        .where(AlertVersion.comment_id.in_(ids)))} if ids else set()
    new = []
    for row in rows:
        text = (row["comment_id"], row["raw_text"])
        if text not in seen:
            seen.add(text)
            new.append(row)
    return new


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
    session.execute(insert_for(session, StoredDeadLetter.__table__).on_conflict_do_nothing(), rows)


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
    withdrawn: bool = False,
    limit: int = 50,
) -> Sequence[Alert]:
    """Newest-worst first: the order an operator triages in. ``keyword`` keeps alerts whose
    keywords include exactly that one. Standing alerts only, or with ``withdrawn`` only those
    withdrawn, so a retracted alert is never mistaken for one still to act on."""
    query = select(Alert).where(*_alert_filters(session, since=since, source=source,
                                                min_score=min_score, keyword=keyword,
                                                withdrawn=withdrawn))
    query = query.order_by(Alert.score.desc(), Alert.created_at.desc()).limit(limit)
    return session.scalars(query).all()


def page_alerts(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    min_score: float | None = None,
    keyword: str | None = None,
    text: str | None = None,
    status: str | None = None,
    withdrawn: bool = False,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> Sequence[Alert]:
    """Newest first by (``created_at``, ``comment_id``), the page after the alert ``after``
    names: a total order, so paging neither repeats nor skips an alert while new ones arrive
    (they land before the first page). ``text`` keeps alerts whose raw text contains it,
    ``status`` those an operator has brought to that status (:mod:`pipeline.store.triage`)."""
    query = select(Alert).where(*_alert_filters(session, since=since, source=source,
                                                min_score=min_score, keyword=keyword,
                                                withdrawn=withdrawn))
    if until is not None:
        query = query.where(Alert.created_at < until)
    if text:
        query = query.where(Alert.raw_text.contains(text, autoescape=True))
    if status is not None:
        query = query.where(Alert.status == status)
    if after is not None:
        created, comment_id = after
        # The bound on created_at alone lets SQLite walk its index from the cursor on; the OR by
        # itself made it collect and sort every older alert (300 ms at 50,000 of them).
        query = query.where(Alert.created_at <= created,
                            or_(Alert.created_at < created, Alert.comment_id < comment_id))
    query = query.order_by(Alert.created_at.desc(), Alert.comment_id.desc()).limit(limit)
    return session.scalars(query).all()


def _alert_filters(session: Session, *, since: datetime | None, source: str | None,
                   min_score: float | None, keyword: str | None, withdrawn: bool
                   ) -> list[ColumnElement[bool]]:
    filters = [Alert.withdrawn_at.is_not(None) if withdrawn else Alert.withdrawn_at.is_(None)]
    if since is not None:
        filters.append(Alert.created_at >= since)
    if source is not None:
        filters.append(Alert.source == source)
    if min_score is not None:
        filters.append(Alert.score >= min_score)
    if keyword is not None:
        filters.append(_has_keyword(session, keyword))
    return filters


def select_dead_letters(
    session: Session, *, stage: str | None = None, limit: int = 50
) -> Sequence[StoredDeadLetter]:
    """Newest first; ``stage`` keeps those refused by one stage (crawl, parse, text, score,
    store)."""
    query = select(StoredDeadLetter)
    if stage is not None:
        query = query.where(StoredDeadLetter.stage == stage)
    return session.scalars(query.order_by(StoredDeadLetter.id.desc()).limit(limit)).all()


def select_versions(session: Session, comment_id: str) -> Sequence[AlertVersion]:
    """Every recorded version of a comment, oldest first: how its alert came to be as it is."""
    query = (select(AlertVersion).where(AlertVersion.comment_id == comment_id)
             .order_by(AlertVersion.crawled_at, AlertVersion.kafka_offset))
    return session.scalars(query).all()


def alert_counts(session: Session) -> dict[str, int]:
    """Standing alerts by the status operators gave them (for ``/metrics``)."""
    return dict(session.execute(select(Alert.status, func.count())
                                .where(Alert.withdrawn_at.is_(None)).group_by(Alert.status)).all())


def dead_letter_counts(session: Session) -> dict[str, int]:
    """Dead letters by the stage that refused them (for ``/metrics``)."""
    return dict(session.execute(select(StoredDeadLetter.stage, func.count())
                                .group_by(StoredDeadLetter.stage)).all())


def count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def alert_ids(session: Session, ids: Iterable[str] | None = None) -> list[str]:
    query = select(Alert.comment_id)
    if ids is not None:
        query = query.where(Alert.comment_id.in_(list(ids)))
    return list(session.scalars(query))

