"""Tables. The comment id is the alert's primary key, so replays upsert instead of duplicating."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from sqlalchemy import JSON, DateTime, Float, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _now() -> datetime:
    return datetime.now(UTC)


intpk = Annotated[int, mapped_column(Integer, primary_key=True, autoincrement=True)]
created_at = Annotated[datetime, mapped_column(DateTime(timezone=True), default=_now, index=True)]


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class Alert(Base):
    """A comment scored negative above the threshold, with everything needed to act on it."""

    __tablename__ = "alerts"

    comment_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    source: Mapped[str] = mapped_column(String(512), index=True)
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
    kafka_offset: Mapped[int]
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now,
                                                 onupdate=_now)


class DeadLetter(Base):
    """A message the pipeline could not use: the reason and the raw bytes, never dropped."""

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
    kafka_offset: Mapped[int | None]
    created_at: Mapped[created_at]
