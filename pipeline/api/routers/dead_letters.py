"""``/dead-letters``: what any stage could not use, newest first, with the reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pipeline.api.auth import Db, viewer
from pipeline.api.schemas import DeadLetterOut
from pipeline.store.queries import select_dead_letters

router = APIRouter(prefix="/dead-letters", tags=["dead letters"], dependencies=[Depends(viewer)])


@router.get("", response_model=list[DeadLetterOut])
def list_dead_letters(
    db: Db,
    stage: Annotated[str | None, Query(description="crawl, parse, text, score or store")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[DeadLetterOut]:
    return [DeadLetterOut(
        id=letter.id, stage=letter.stage, reason=letter.reason,
        raw=letter.raw.decode("utf-8", errors="replace"), record_id=letter.record_id,
        kafka_topic=letter.kafka_topic, kafka_partition=letter.kafka_partition,
        kafka_offset=letter.kafka_offset, created_at=letter.created_at,
    ) for letter in select_dead_letters(db, stage=stage, limit=limit)]
