"""The contracts every part of Yuqing shares, each defined once: the comment record, the dead
letter, the sentiment label and the alert row.

A comment record travels on Kafka as UTF-8 JSON keyed by its stable ``id``. Both ends validate it
with the same model; whatever fails becomes a :class:`DeadLetter` carrying the reason and the raw
bytes, so nothing is dropped silently. Every scored comment becomes an :class:`AlertRow`, from
which the store raises, refreshes or withdraws the comment's alert.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
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

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No comment we crawl is older; an earlier date is a parsing slip (epoch 0, year 1) that some
databases cannot even store (PostgreSQL refuses ``0001-01-01T00:00:00+10:00``)."""
FUTURE_SLACK = timedelta(days=1)
"""How far ahead of our clock a date may be: a site's clock or time zone may be off, not more."""

MAX_JSON_INT_DIGITS = 1000
"""Longer integers are refused before Python converts them, which takes quadratic time."""

REASON_CHARS = 1000
"""A dead letter's reason is read in a table by an operator, not parsed: one line, this long."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def one_line(text: str, limit: int = REASON_CHARS) -> str:
    """``text`` as one bounded line that every store can hold: whitespace runs become a space,
    and NULs and lone surrogates (which PostgreSQL and UTF-8 refuse) become escapes."""
    flat = " ".join(text.replace("\x00", "\\x00").split())
    storable = flat.encode("utf-8", "backslashreplace").decode("utf-8")
    return storable if len(storable) <= limit else f"{storable[:limit - 1]}…"


def error_reason(error: BaseException) -> str:
    """The reason a dead letter gives for an exception nobody foresaw: its type and message."""
    return one_line(f"{type(error).__name__}: {error}")


def _sane_instant(value: datetime) -> datetime:
    # A date without an offset is taken as UTC, as `yuqing alerts --since` takes it, rather
    # than as whatever zone the database session happens to be in.
    if value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    if value < EARLIEST:
        raise ValueError(f"{value.isoformat()} is before {EARLIEST:%Y-%m-%d} UTC")
    if value > utcnow() + FUTURE_SLACK:
        raise ValueError(f"{value.isoformat()} is more than a day in the future")
    return value


Instant = Annotated[datetime, AfterValidator(_sane_instant)]
"""A point in time every store can hold: from 2000-01-01 UTC to a day ahead; naive means UTC."""


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
    published_at: Instant | None = None
    crawled_at: Instant = Field(default_factory=utcnow)

    @field_validator("id", "source", "url", "text", "author")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        return _without_nul(value)

    def kafka_key(self) -> bytes:
        return self.id.encode("utf-8")

    def kafka_value(self) -> bytes:
        return self.model_dump_json().encode("utf-8")


def _without_nul(value: str | None) -> str | None:
    # Valid JSON ("\u0000") but no PostgreSQL text column accepts it.
    if value is not None and "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


class RecordError(ValueError):
    """A message that is not a valid comment record; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_record(raw: bytes | None) -> CommentRecord:
    """Decode and validate one Kafka message value, or raise :class:`RecordError`.

    Whatever the bytes are, the only exception is :class:`RecordError`: the caller turns it into
    a dead letter, and anything else would stop the stream on one message.
    """
    try:
        return _parse_record(raw)
    except RecordError:
        raise
    except Exception as exc:  # a failure nobody foresaw still costs one message, not the job
        raise RecordError(error_reason(exc)) from exc


def _parse_record(raw: bytes | None) -> CommentRecord:
    if raw is None:
        raise RecordError("message has no value (a tombstone)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(f"invalid UTF-8 at byte {exc.start}") from exc
    payload = _json(text)
    if not isinstance(payload, dict):
        raise RecordError(f"not a JSON object but {type(payload).__name__}")
    try:
        return CommentRecord.model_validate(payload)
    except ValidationError as exc:
        raise RecordError(f"invalid record: {_problems(exc)}") from exc


def _json(text: str) -> Any:
    """Strict JSON: a duplicated key (which value is meant?) and a number too long to convert
    are refused, as is nesting deeper than the parser's stack."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_int=_integer)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise RecordError("JSON nested too deeply") from exc


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    counts = Counter(key for key, _ in pairs)
    if len(counts) < len(pairs):
        duplicate = next(key for key, count in counts.items() if count > 1)
        raise RecordError(f"duplicate key {duplicate[:100]!r} in the JSON")
    return dict(pairs)


def _integer(digits: str) -> int:
    if len(digits) > MAX_JSON_INT_DIGITS:
        raise RecordError(f"a number in the JSON is too long ({len(digits)} digits)")
    return int(digits)


def _problems(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in item['loc']) or 'record'}: {_message(item)}"
                     for item in error.errors())


def _message(item: Any) -> str:
    """Our validators' own words, without pydantic's "Value error, " in front."""
    if item["type"] == "value_error":
        return str(item["ctx"]["error"])
    return item["msg"]


class Lineage(BaseModel):
    """Where a message came from in Kafka, kept on every alert and dead letter."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


class DeadLetter(BaseModel):
    """A message some stage could not use, kept with the reason and the raw bytes.

    ``stage`` says where it was refused: ``crawl`` (the crawler's item pipeline, which sends it
    to the dead-letter topic), ``parse``, ``text`` or ``score`` (the stream job). On Kafka it
    travels as JSON with ``raw`` in base64, so bytes that are not UTF-8 survive the trip.

    Stage ``store``: the store itself refused what the job wrote (a constraint, a trigger, a
    value a column cannot hold). Failing the write instead would fail it again after every
    restart, so the comment's row, or a dead letter the store would not take, is kept as this
    letter with the driver's message as the reason, and the raw bytes and lineage of the
    message it came from.
    """

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    stage: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    reason: str
    raw: bytes
    record_id: str | None = None
    lineage: Lineage | None = None
    created_at: Instant = Field(default_factory=utcnow)

    # Normalised, not refused: a letter is built for a message that failed, whatever it holds,
    # and must still be stored.
    @field_validator("reason")
    @classmethod
    def _readable(cls, reason: str) -> str:
        return one_line(reason)

    @field_validator("record_id")
    @classmethod
    def _storable_id(cls, record_id: str | None) -> str | None:
        # An id the store's column cannot hold is no id at all; the raw bytes still carry it.
        if record_id is None or len(record_id) > 512 or "\x00" in record_id:
            return None
        return record_id

    @field_validator("stage")
    @classmethod
    def _no_nul(cls, stage: str) -> str:
        return _without_nul(stage)


def parse_dead_letter(raw: bytes | None) -> DeadLetter:
    """Decode a dead letter that another stage (the crawler) put on the dead-letter topic, so
    the stream job can store it beside its own; raises :class:`RecordError` if it is not one."""
    if raw is None:
        raise RecordError("message has no value (a tombstone)")
    try:
        return DeadLetter.model_validate_json(raw)
    except ValidationError as exc:
        raise RecordError(f"invalid dead letter: {_problems(exc)}") from exc


class Label(StrEnum):
    """The two sentiment classes. ``index`` is the class's position in every model's output and
    in the labelled data, so a model, its training data and the alert rule cannot disagree."""

    POSITIVE = "positive"
    NEGATIVE = "negative"

    @property
    def index(self) -> int:
        return 1 if self is Label.NEGATIVE else 0

    @classmethod
    def from_index(cls, index: int) -> Label:
        return cls.NEGATIVE if index == Label.NEGATIVE.index else cls.POSITIVE


EVEN_ODDS = 0.5
"""A two-class model's own boundary (its argmax): where accuracy figures are measured."""


def label_for(p_negative: float, threshold: float) -> Label:
    """The one decision rule: negative at or above ``threshold`` (``alert_threshold`` in the
    settings). The stream job and ``yuqing score`` both call it, so a comment checked by hand
    gets the answer the pipeline gave."""
    return Label.NEGATIVE if p_negative >= threshold else Label.POSITIVE


@dataclass(frozen=True)
class Thresholds:
    """The alert threshold for each source: ``alert_threshold`` unless ``source_thresholds``
    names the source.

    Sources differ in register, not only in topic: a social feed's hyperbole and irony push
    praise towards the negative side far more than app-store reviews do, so one threshold either
    floods the team with the feed's false alerts or misses the reviews' complaints. Every place
    that labels a comment (the job, ``yuqing score``, ``yuqing replay``) asks this object, so a
    source is judged the same way everywhere.
    """

    default: float
    by_source: dict[str, float] = field(default_factory=dict)

    def for_source(self, source: str | None) -> float:
        return self.by_source.get(source, self.default) if source else self.default

    def label(self, p_negative: float, source: str | None) -> Label:
        return label_for(p_negative, self.for_source(source))

    def describe(self) -> str:
        """One line for logs and reports: ``0.80 (weibo 0.90, tieba 0.85)``."""
        overrides = ", ".join(f"{name} {value:.2f}"
                              for name, value in sorted(self.by_source.items()))
        return f"{self.default:.2f}" + (f" ({overrides})" if overrides else "")


@dataclass(frozen=True)
class AlertRow:
    """A scored comment, with everything an operator needs to act on it.

    The store's ``alerts`` table has exactly these columns plus its own timestamps,
    ``withdrawn_at``, and the operator's ``status`` and ``verdict`` (:mod:`pipeline.store.triage`);
    the comment id is the key. A comment may be re-sent with new text (an
    edit), so each row is one version of it, ordered by ``crawled_at`` and then by Kafka
    position: the latest version wins and an older one, replayed, changes nothing. A negative
    row raises or refreshes the alert; a positive one only withdraws an alert already standing.
    """

    comment_id: str
    source: str
    url: str
    author: str | None
    published_at: datetime | None
    crawled_at: datetime
    raw_text: str
    clean_text: str
    tokens: list[str]
    keywords: list[str]
    label: str
    score: float
    model: str
    model_version: str
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int

    VERSIONED: ClassVar[tuple[str, ...]] = (
        "url", "author", "published_at", "crawled_at", "raw_text", "clean_text", "tokens",
        "keywords", "label", "score", "model", "model_version", "kafka_topic", "kafka_partition",
        "kafka_offset",
    )  # fmt: skip
    """What a newer version replaces: all of it but the id and the source, which name it, so the
    text, the score and the lineage always describe the same version."""

    def as_dict(self) -> dict[str, object]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


class SurgeSubject(StrEnum):
    """What a surge is counted for: a watched keyword (a brand, a product) or a source."""

    KEYWORD = "keyword"
    SOURCE = "source"


@dataclass(frozen=True)
class SurgeComment:
    """One of a surge's most negative comments, so the notification shows what people said."""

    comment_id: str
    text: str
    score: float


@dataclass(frozen=True)
class Surge:
    """A window in which one subject's negative comments jumped well above its own baseline.

    Raised once per episode by the stream job (:mod:`pipeline.stream.surges`), stored once per
    subject and window (a replay upserts), shown by the API and sent through the notifications.
    ``threshold`` is the count the window had to reach: the baseline's mean plus its spread times
    the configured factor, and never below the configured minimum count.
    """

    subject_kind: SurgeSubject
    subject: str
    window_start: datetime
    window_end: datetime
    count: int
    baseline_mean: float
    baseline_std: float
    threshold: float
    top_comments: tuple[SurgeComment, ...]
