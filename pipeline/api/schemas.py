"""What the API sends and takes: pydantic models apart from the ORM rows, so a column can
change without changing the API, and the OpenAPI schema says exactly what a client gets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.records import SurgeSubject
from pipeline.store.stats import Bucket, GroupBy
from pipeline.store.triage import Action, AlertStatus, Verdict


class AlertOut(BaseModel):
    """One alert: the comment, its score, and where it came from (its lineage)."""

    model_config = ConfigDict(from_attributes=True)

    comment_id: str
    source: str
    url: str
    author: str | None
    published_at: datetime | None
    crawled_at: datetime
    raw_text: str
    clean_text: str
    keywords: list[str]
    label: str
    score: float
    model: str
    model_version: str
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    created_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None
    status: AlertStatus
    verdict: Verdict | None


class AlertDetail(AlertOut):
    """One alert with its whole lineage: also the crawl that brought the comment (None when no
    site profile's crawl did, as for a hand-written spider)."""

    crawl_run: CrawlRunOut | None


class AlertPage(BaseModel):
    """A page of alerts, newest first; ``next`` is the cursor of the following page (None on
    the last one)."""

    alerts: list[AlertOut]
    next: str | None


class Health(BaseModel):
    status: str
    store: str


class ActionIn(BaseModel):
    """What an operator does to an alert, and why."""

    action: Action
    note: str | None = Field(None, max_length=2000, pattern=r"^[^\x00]*$",
                             description="Free text; no NUL characters (the store refuses them).")


class EventOut(BaseModel):
    """One entry of an alert's audit trail."""

    model_config = ConfigDict(from_attributes=True)

    action: Action
    note: str | None
    actor: str
    at: datetime


class DeadLetterOut(BaseModel):
    """Something the pipeline could not use, with why and where it came from. ``raw`` is the
    message as text (undecodable bytes replaced); the bytes themselves stay in the store."""

    id: int
    stage: str
    reason: str
    raw: str
    record_id: str | None
    kafka_topic: str | None
    kafka_partition: int | None
    kafka_offset: int | None
    created_at: datetime


class CrawlRunOut(BaseModel):
    """One crawl of one site profile."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    profile_id: str
    started_at: datetime
    finished_at: datetime
    pages: int
    items: int
    new_items: int
    dead_letters: int
    undelivered: int
    http_errors: dict[str, int]
    retries: int
    bans_suspected: int
    finish_reason: str | None
    ok: bool


class SourceAlertOut(BaseModel):
    """A crawl-health alert: a source gone silent, or failing."""

    model_config = ConfigDict(from_attributes=True)

    profile_id: str
    kind: str
    detail: str
    raised_at: datetime
    resolved_at: datetime | None


class VolumePointOut(BaseModel):
    """One bucket: comments written in it, how many are negative, and the negative share (None
    for a bucket without comments)."""

    model_config = ConfigDict(from_attributes=True)

    start: datetime
    total: int
    negative: int
    share: float | None


class VolumeSeries(BaseModel):
    """One source's or keyword's buckets (``group`` is None when not grouped)."""

    group: str | None
    points: list[VolumePointOut]


class StatsOut(BaseModel):
    bucket: Bucket
    by: GroupBy
    tz: str
    series: list[VolumeSeries]


class SurgeCommentOut(BaseModel):
    comment_id: str
    text: str
    score: float


class SurgeOut(BaseModel):
    """A window in which one keyword's or source's negative comments jumped above its own
    baseline: the count, the baseline it was judged against, and the most negative comments."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    subject_kind: SurgeSubject
    subject: str
    window_start: datetime
    window_end: datetime
    count: int
    baseline_mean: float
    baseline_std: float
    threshold: float
    top_comments: list[SurgeCommentOut]
    raised_at: datetime


_NO_NUL = r"^[^\x00]*$"


class SilenceMatchers(BaseModel):
    """What a silence mutes: notices meeting every matcher given (at least one). ``keyword``
    is met by a notice with that keyword among its keywords; ``rule`` names a notification
    rule."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["alert", "surge", "crawl_health"] | None = None
    source: str | None = Field(None, min_length=1, max_length=512, pattern=_NO_NUL)
    keyword: str | None = Field(None, min_length=1, max_length=128, pattern=_NO_NUL)
    rule: str | None = Field(None, min_length=1, max_length=128, pattern=_NO_NUL)

    @model_validator(mode="after")
    def _at_least_one(self) -> SilenceMatchers:
        if not self.model_dump(exclude_none=True):
            raise ValueError("a silence needs at least one matcher (kind, source, keyword, rule)")
        return self


def _utc(value: datetime | None) -> datetime | None:
    """The store keeps UTC; a time that has no UTC equivalent (year 1 east of Greenwich) is
    refused here rather than failing in the store."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("out of range") from None


class SilenceIn(BaseModel):
    """A new silence, from ``starts_at`` (default: now) until ``ends_at``, with a timezone."""

    matchers: SilenceMatchers
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime
    comment: str | None = Field(None, max_length=2000, pattern=_NO_NUL,
                                description="Why; no NUL characters (the store refuses them).")

    _in_utc = field_validator("starts_at", "ends_at")(_utc)

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> SilenceIn:
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SilenceOut(BaseModel):
    id: int
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str | None
    expired_by: str | None
    active: bool
