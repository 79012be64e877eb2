"""Tables. The comment id is the alert's primary key, so replays upsert instead of duplicating;
each version of a commented alert is kept beside it in ``alert_versions``.

The schema itself is created and changed only by the Alembic revisions in ``migrations/``;
these classes are what the code expects the latest revision to have built.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _now() -> datetime:
    return datetime.now(UTC)


intpk = Annotated[int, mapped_column(Integer, primary_key=True, autoincrement=True)]
created_at = Annotated[datetime, mapped_column(DateTime(timezone=True), default=_now, index=True)]
# Kafka offsets are 64-bit; a busy partition passes 2**31 and a 32-bit column would refuse it.
kafka_offset = Annotated[int, mapped_column(BigInteger)]

# JSONB on PostgreSQL so keywords can be indexed and searched; JSON text elsewhere (the engine
# writes it as unescaped UTF-8, so plain SQL can LIKE-search it).
JSON_LIST = JSON().with_variant(JSONB(), "postgresql")

# Alembic's comparison and migrations skip an index whose ``info`` names another dialect.
POSTGRESQL_ONLY = {"dialect": "postgresql"}


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {list[str]: JSON_LIST}


class Alert(Base):
    """A comment whose latest version scored negative, or did once: the columns of
    :class:`pipeline.records.AlertRow`, plus when the store first and last wrote it and, once a
    newer version scored positive, when it was withdrawn (kept rather than deleted, so the
    operator can see what was retracted)."""

    __tablename__ = "alerts"
    # jsonb_path_ops serves exactly the containment (@>) the keyword filter uses, and is smaller
    # than the default GIN operator class.
    # (source, created_at): one source's alerts newest first is the API's commonest page; with
    # only an index on source, SQLite sorted all of that source's alerts for each page.
    __table_args__ = (
        Index("ix_alerts_keywords", "keywords", postgresql_using="gin",
              postgresql_ops={"keywords": "jsonb_path_ops"}, info=POSTGRESQL_ONLY),
        Index("ix_alerts_source_created_at", "source", "created_at"),
    )

    comment_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    source: Mapped[str] = mapped_column(String(512))
    url: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(512))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    crawled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    raw_text: Mapped[str] = mapped_column(Text)
    clean_text: Mapped[str] = mapped_column(Text)
    tokens: Mapped[list[str]]
    keywords: Mapped[list[str]]
    label: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float, index=True)
    model: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    kafka_topic: Mapped[str] = mapped_column(String(255))
    kafka_partition: Mapped[int]
    kafka_offset: Mapped[kafka_offset]
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now,
                                                 onupdate=_now)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # An operator's work on it (pipeline.store.triage); the job never writes these.
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open",
                                        index=True)
    verdict: Mapped[str | None] = mapped_column(String(16))


class AlertVersion(Base):
    """One scored version of a comment that has or had an alert, so an edit that changed or
    withdrew it stays on record: one row per text the comment has had, as first seen (a replay of
    the same Kafka message is refused by the unique position; the same text sent again is
    skipped by :func:`pipeline.store.queries.record_scores`)."""

    __tablename__ = "alert_versions"
    __table_args__ = (UniqueConstraint("kafka_topic", "kafka_partition", "kafka_offset"),)

    id: Mapped[intpk]
    comment_id: Mapped[str] = mapped_column(String(512), index=True)
    crawled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    raw_text: Mapped[str] = mapped_column(Text)
    clean_text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    kafka_topic: Mapped[str] = mapped_column(String(255))
    kafka_partition: Mapped[int]
    kafka_offset: Mapped[kafka_offset]
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Comment(Base):
    """Every scored comment, positive or negative, at its latest version: what the negative
    share, the per-hour volumes and a replay with a new model are computed from. The alerts
    table holds only the comments that alerted; this one is the denominator.

    Keyed by the comment id and upserted like an alert (the latest version wins), so a replayed
    or re-crawled comment is counted once.
    """

    __tablename__ = "comments"

    comment_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    source: Mapped[str] = mapped_column(String(512), index=True)
    url: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(512))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    crawled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When it was written, as far as we know: published_at, else crawled_at. In UTC, so that
    # SQLite (which keeps a date's digits without the offset) groups it by the same hours.
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    raw_text: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[str]]
    label: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    kafka_topic: Mapped[str] = mapped_column(String(255))
    kafka_partition: Mapped[int]
    kafka_offset: Mapped[kafka_offset]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now,
                                                 onupdate=_now)


class CommentKeyword(Base):
    """A watched keyword a comment's latest version mentions: a plain table rather than a JSON
    search, so counting per keyword is one indexed GROUP BY on every database."""

    __tablename__ = "comment_keywords"

    comment_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    keyword: Mapped[str] = mapped_column(String(512), primary_key=True, index=True)


class StoredSurge(Base):
    """A :class:`pipeline.records.Surge` as stored; one per subject and window, so a replay of
    the job upserts rather than raising it again."""

    __tablename__ = "surges"
    __table_args__ = (UniqueConstraint("subject_kind", "subject", "window_start"),)

    id: Mapped[intpk]
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(512), index=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int]
    baseline_mean: Mapped[float] = mapped_column(Float)
    baseline_std: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    # [{"comment_id", "text", "score"}], most negative first
    top_comments: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class StoredDeadLetter(Base):
    """A :class:`pipeline.records.DeadLetter` as stored: the reason and the raw bytes, with its
    Kafka lineage flattened into columns so a replay can be recognised."""

    __tablename__ = "dead_letters"
    # A replayed offset must not add a second row; rows without lineage (NULLs) never collide.
    __table_args__ = (UniqueConstraint("kafka_topic", "kafka_partition", "kafka_offset"),)

    id: Mapped[intpk]
    stage: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    record_id: Mapped[str | None] = mapped_column(String(512))
    kafka_topic: Mapped[str | None] = mapped_column(String(255))
    kafka_partition: Mapped[int | None]
    kafka_offset: Mapped[kafka_offset | None]
    created_at: Mapped[created_at]


class CrawlState(Base):
    """What a profile's scheduled crawls have seen: each comment id with a hash of its text, the
    newest ``new_items.seen_ids`` of them, so a crawl produces only new or edited comments and
    stops paging where it reaches known ones."""

    __tablename__ = "crawl_state"

    profile_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # {comment id: text hash}, oldest first: JSON keeps the order, which bounds the window.
    seen: Mapped[dict[str, str]] = mapped_column(JSON)
    # Where paging stopped before it reached known comments (a crawl killed, or a page lost):
    # [{"url", "page", "first_url", "tries"}], crawled again by the next crawl.
    resume: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {start URL: native id of its newest comment delivered}, sent as paging.since_param.
    newest: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now,
                                                 onupdate=_now)


class ScheduledCrawl(Base):
    """A profile's job in the crawl scheduler: APScheduler's ``SQLAlchemyJobStore`` keeps its
    trigger and next run time here (the table layout is APScheduler's own; our migrations create
    it so that one tool owns the schema)."""

    __tablename__ = "scheduled_crawls"

    id: Mapped[str] = mapped_column(String(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class CrawlRun(Base):
    """One crawl of one profile, as its summary said: what an operator looks at to see whether a
    source still works (``yuqing crawls``)."""

    __tablename__ = "crawl_runs"

    id: Mapped[intpk]
    profile_id: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pages: Mapped[int]
    items: Mapped[int]  # comments found, known ones included
    new_items: Mapped[int]  # new or edited: what was sent
    dead_letters: Mapped[int]
    undelivered: Mapped[int]
    # {"500": 3, "429": 1}: responses with an error status, retried ones included
    http_errors: Mapped[dict[str, int]] = mapped_column(JSON)
    retries: Mapped[int]
    bans_suspected: Mapped[int]  # ban statuses and pages matching the profile's ban patterns
    finish_reason: Mapped[str | None] = mapped_column(String(64))
    ok: Mapped[bool]


class SourceAlert(Base):
    """A crawl-health alert: a source that went silent (nothing new for longer than its profile
    allows) or whose crawls keep failing. Open until a crawl shows the source healthy again."""

    __tablename__ = "source_alerts"

    id: Mapped[intpk]
    profile_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # silent | failing
    detail: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A token for the REST API (``yuqing token create``). Only a SHA-256 hash of the token is
    kept: the token itself is shown once, when it is made, and a stolen database does not give
    access. ``role`` is ``viewer`` (reads) or ``operator`` (also changes alerts)."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AlertEvent(Base):
    """One thing an operator did to an alert (acknowledge, resolve, …), with who and why: the
    audit trail of :mod:`pipeline.store.triage`."""

    __tablename__ = "alert_events"

    id: Mapped[intpk]
    comment_id: Mapped[str] = mapped_column(String(512), index=True)
    action: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class OutboxNotice(Base):
    """A notice waiting to be routed to the notification channels
    (:class:`pipeline.store.outbox.Notice`), written in the same transaction as what it tells
    of, so a notice exists exactly when its alert does. ``key`` makes a replayed write a no-op;
    ``routed_at`` is set once the dispatcher has turned it into deliveries."""

    __tablename__ = "outbox"

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(512), unique=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(512))
    keywords: Mapped[list[str]]
    score: Mapped[float | None] = mapped_column(Float)
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    routed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class Delivery(Base):
    """One message for one channel, made by one rule: a digest of the notices of one group
    (``delivery_notices``), or a record that they were silenced. ``pending`` until due
    (``next_attempt_at``), ``sending`` while a dispatcher holds its lease, then ``sent`` or
    ``failed``; ``silenced`` ones were never sent."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_group", "rule", "channel", "group_key"),
                      Index("ix_deliveries_due", "state", "next_attempt_at"))

    id: Mapped[intpk]
    rule: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(128))
    group_key: Mapped[str] = mapped_column(String(512))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeliveryNotice(Base):
    """Which notices a delivery carries."""

    __tablename__ = "delivery_notices"

    delivery_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


class Silence(Base):
    """An operator's silence: notices matching all of ``matchers`` (kind, source, keyword, rule)
    between ``starts_at`` and ``ends_at`` are not sent. Expiring one sets ``ends_at`` and
    ``expired_by``; none is deleted, so the record shows who muted what, and who ended it."""

    __tablename__ = "silences"

    id: Mapped[intpk]
    matchers: Mapped[dict[str, str]] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_by: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    expired_by: Mapped[str | None] = mapped_column(String(128))
