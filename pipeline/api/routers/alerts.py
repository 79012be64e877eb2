"""``/alerts``: the alert list with filters and cursor paging, and one alert."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from pipeline.api.auth import Db, operator, viewer
from pipeline.api.schemas import ActionIn, AlertDetail, AlertOut, AlertPage, CrawlRunOut, EventOut
from pipeline.store.crawls import crawl_run_at
from pipeline.store.models import Alert, ApiToken
from pipeline.store.queries import page_alerts
from pipeline.store.triage import AlertStatus, act_on_alert, alert_events

router = APIRouter(prefix="/alerts", tags=["alerts"], dependencies=[Depends(viewer)])


def encode_cursor(alert: Alert) -> str:
    """The position after ``alert``: opaque to clients, so the order's key may change."""
    raw = f"{alert.created_at.isoformat()}|{alert.comment_id}"
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, _, comment_id = base64.urlsafe_b64decode(cursor.encode("ascii")).decode(
            "utf-8").partition("|")
        return datetime.fromisoformat(created), comment_id
    except (ValueError, UnicodeError, binascii.Error):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "cursor: not one this API "
                            "gave out (use the `next` of the previous page)") from None


@router.get("", response_model=AlertPage)
def list_alerts(
    db: Db,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    keyword: str | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text the comment contains.")]
    = None,
    alert_status: Annotated[AlertStatus | None, Query(alias="status")] = None,
    withdrawn: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    """Alerts newest first. Filters combine; ``withdrawn`` lists the alerts withdrawn because
    an edit scored positive, instead of the standing ones."""
    after = decode_cursor(cursor) if cursor else None
    alerts = page_alerts(db, since=since, until=until, source=source, min_score=min_score,
                         keyword=keyword, text=q, status=alert_status, withdrawn=withdrawn,
                         after=after,
                         limit=limit + 1)
    page = list(alerts[:limit])
    following = encode_cursor(page[-1]) if len(alerts) > limit else None
    return AlertPage(alerts=[AlertOut.model_validate(a) for a in page], next=following)


@router.get("/{comment_id}", response_model=AlertDetail)
def get_alert(db: Db, comment_id: str) -> AlertDetail:
    """The alert with its lineage: the comment, its raw and cleaned text, the crawl that
    brought it, its Kafka position, and the model and version that scored it."""
    alert = db.get(Alert, comment_id)
    if alert is None:
        raise _not_found(comment_id)
    run = crawl_run_at(db, alert.source, alert.crawled_at)
    return AlertDetail.model_validate({
        **AlertOut.model_validate(alert).model_dump(),
        "crawl_run": CrawlRunOut.model_validate(run) if run is not None else None})


@router.get("/{comment_id}/events", response_model=list[EventOut])
def get_events(db: Db, comment_id: str) -> list[EventOut]:
    """What operators did to the alert, oldest first."""
    if db.get(Alert, comment_id) is None:
        raise _not_found(comment_id)
    return [EventOut.model_validate(event) for event in alert_events(db, comment_id)]


@router.post("/{comment_id}/actions", response_model=AlertOut)
def act(db: Db, comment_id: str, body: ActionIn,
        token: Annotated[ApiToken, Depends(operator)]) -> AlertOut:
    """Acknowledge, resolve, reopen, or judge the alert (true or false positive; a false
    positive is also resolved); recorded with the token's name and the note."""
    alert = act_on_alert(db, comment_id, body.action, actor=token.name, note=body.note)
    if alert is None:
        raise _not_found(comment_id)
    return AlertOut.model_validate(alert)


def _not_found(comment_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no alert for comment {comment_id!r}")
