"""What the API sends and takes: pydantic models apart from the ORM rows, so a column can
change without changing the API, and the OpenAPI schema says exactly what a client gets."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

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
