"""``/surges``: windows in which a keyword's or a source's negative comments jumped above its
own baseline (raised by the stream job)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pipeline.api.auth import Db, viewer
from pipeline.api.schemas import SurgeOut
from pipeline.records import SurgeSubject
from pipeline.store.surges import select_surges

router = APIRouter(prefix="/surges", tags=["surges"], dependencies=[Depends(viewer)])


@router.get("", response_model=list[SurgeOut])
def list_surges(
    db: Db,
    since: datetime | None = None,
    until: datetime | None = None,
    subject_kind: SurgeSubject | None = None,
    subject: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SurgeOut]:
    """Newest window first; ``since``/``until`` bound the window's start."""
    return [SurgeOut.model_validate(surge) for surge in select_surges(
        db, since=since, until=until, subject_kind=subject_kind, subject=subject, limit=limit)]
