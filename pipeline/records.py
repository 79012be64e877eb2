"""The comment record: the one contract between crawlers and the pipeline.

A record travels on Kafka as UTF-8 JSON keyed by its stable ``id``. Both ends validate it with
the same model; whatever fails becomes a :class:`DeadLetter` carrying the reason and the raw
bytes, so nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

SCHEMA_VERSION = 1

# Bounds that the store's columns hold on every database; longer values are refused here, with
# a reason, rather than failing the sink later.
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_id(source: str, native_id: str | None = None, text: str | None = None) -> str:
    """A stable id: the source's own id when it has one, else a hash of the text.

    Re-crawling the same comment must give the same id, so the pipeline's upserts stay
    idempotent across crawls.
    """
    if native_id:
        return f"{source}:{native_id}"
    if text is None:
        raise ValueError("make_id needs a native id or the text")
    return f"{source}:sha1-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:20]}"


class CommentRecord(BaseModel):
    """One crawled comment, as produced to the ``comments`` topic."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: Literal[1] = SCHEMA_VERSION
    id: NonEmpty
    source: NonEmpty
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4096)]
    text: LongText
    author: Annotated[str, StringConstraints(max_length=512)] | None = None
    published_at: datetime | None = None
    crawled_at: datetime = Field(default_factory=utcnow)

    @field_validator("id", "source", "url", "text", "author")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # Valid JSON ("\u0000") but no PostgreSQL text column accepts it.
        if value is not None and "\x00" in value:
            raise ValueError("contains a NUL character")
        return value

    def kafka_key(self) -> bytes:
        return self.id.encode("utf-8")

    def kafka_value(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


class RecordError(ValueError):
    """A message that is not a valid comment record; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_record(raw: bytes | None) -> CommentRecord:
    """Decode and validate one Kafka message value, or raise :class:`RecordError`."""
    if raw is None:
        raise RecordError("message has no value (a tombstone)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(f"invalid UTF-8 at byte {exc.start}") from exc
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(payload, dict):
        raise RecordError(f"not a JSON object but {type(payload).__name__}")
    try:
        return CommentRecord.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'record'}: {err['msg']}"
            for err in exc.errors()
        )
        raise RecordError(f"invalid record: {problems}") from exc


class Lineage(BaseModel):
    """Where a message came from in Kafka, kept on every alert and dead letter."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


class DeadLetter(BaseModel):
    """A message the pipeline could not use, kept with the reason and the raw bytes."""

    model_config = ConfigDict(frozen=True)

    stage: str
    reason: str
    raw: bytes
    record_id: str | None = None
    lineage: Lineage | None = None
    created_at: datetime = Field(default_factory=utcnow)
