"""``/silences``: operators mute notifications for a while (a known incident, a noisy source),
as in Alertmanager. A silence is never deleted: ``DELETE`` ends it now and records who did."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Response, status

from pipeline.api.auth import Db, operator, viewer
from pipeline.api.schemas import SilenceIn, SilenceOut
from pipeline.store.deliveries import add_silence, aware, expire_silence, select_silences
from pipeline.store.models import ApiToken, Silence

log = logging.getLogger(__name__)

router = APIRouter(prefix="/silences", tags=["silences"], dependencies=[Depends(viewer)])


def _out(silence: Silence, now: datetime) -> SilenceOut:
    starts, ends = aware(silence.starts_at), aware(silence.ends_at)
    return SilenceOut(id=silence.id, matchers=silence.matchers, starts_at=starts, ends_at=ends,
                      created_by=silence.created_by, comment=silence.comment,
                      expired_by=silence.expired_by, active=starts <= now < ends)


@router.get("", response_model=list[SilenceOut])
def list_silences(db: Db, expired: bool = False) -> list[SilenceOut]:
    """Silences in force or to come, newest first; with ``expired``, also those that ended
    (the most recent 200 in all)."""
    now = datetime.now(UTC)
    since = datetime(1970, 1, 1, tzinfo=UTC) if expired else now
    return [_out(silence, now) for silence in select_silences(db, since)]


@router.post("", response_model=SilenceOut, status_code=status.HTTP_201_CREATED)
def create_silence(db: Db, body: SilenceIn,
                   token: Annotated[ApiToken, Depends(operator)]) -> SilenceOut:
    """Mute the notices the matchers select until ``ends_at``; recorded with the token's
    name."""
    now = datetime.now(UTC)
    starts = body.starts_at or now
    if body.ends_at <= max(starts, now):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "ends_at must be in the future and after starts_at")
    silence = add_silence(db, matchers=body.matchers.model_dump(exclude_none=True),
                          starts_at=starts, ends_at=body.ends_at, created_by=token.name,
                          comment=body.comment)
    log.info("silence %d %s until %s set by %s", silence.id, silence.matchers,
             body.ends_at.isoformat(), token.name)
    return _out(silence, now)


@router.delete("/{silence_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response)
def expire(db: Db, silence_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
           token: Annotated[ApiToken, Depends(operator)]) -> Response:
    """End the silence now; it stays on record, with who ended it."""
    if expire_silence(db, silence_id, datetime.now(UTC), by=token.name) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no silence {silence_id}")
    log.info("silence %d ended by %s", silence_id, token.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
