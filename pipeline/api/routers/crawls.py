"""``/crawls``: crawl health from the crawl-operations records: each crawl of a site profile,
and the open crawl-health alerts (silent or failing sources)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from pipeline.api.auth import Db, viewer
from pipeline.api.schemas import CrawlRunOut, SourceAlertOut
from pipeline.store.crawls import open_source_alerts, select_crawl_runs

router = APIRouter(prefix="/crawls", tags=["crawl health"], dependencies=[Depends(viewer)])


@router.get("", response_model=list[CrawlRunOut])
def list_crawls(
    db: Db,
    profile: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> list[CrawlRunOut]:
    """The newest crawls first, of one profile or all."""
    return [CrawlRunOut.model_validate(run) for run in select_crawl_runs(db, profile, limit)]


@router.get("/alerts", response_model=list[SourceAlertOut])
def list_source_alerts(db: Db, profile: str | None = None) -> list[SourceAlertOut]:
    """The open crawl-health alerts, oldest first."""
    return [SourceAlertOut.model_validate(alert) for alert in open_source_alerts(db, profile)]
