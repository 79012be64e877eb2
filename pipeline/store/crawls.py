"""The crawl operations' own rows: what each site profile's crawls have seen, each crawl, and
crawl-health alerts.

Apart from :mod:`pipeline.store.queries` because the crawlers use it: comments reach the store
only through Kafka and the job, but what a crawl did is the crawlers' own record, and the
scheduler, the CLI and the API read it from the same database. The layering test lets the
crawlers import this module and not the alert and dead-letter queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.store.models import CrawlRun, CrawlState, SourceAlert


def crawl_seen(session: Session, profile_id: str) -> dict[str, str]:
    """What the profile's crawls have seen: comment id → text hash, least recently seen first."""
    state = session.get(CrawlState, profile_id)
    return dict(state.seen) if state else {}


def crawl_resume(session: Session, profile_id: str) -> list[dict[str, Any]]:
    """Where the profile's last crawl left paging unfinished (see :mod:`crawlers.frontier`)."""
    state = session.get(CrawlState, profile_id)
    return list(state.resume) if state else []


def crawl_newest(session: Session, profile_id: str) -> dict[str, str]:
    """Each start URL's newest comment delivered (its native id), for ``since_id`` paging."""
    state = session.get(CrawlState, profile_id)
    return dict(state.newest) if state else {}


def save_crawl_state(session: Session, profile_id: str, seen: dict[str, str],
                     resume: list[dict[str, Any]], newest: dict[str, str]) -> None:
    state = session.get(CrawlState, profile_id)
    if state is None:
        session.add(CrawlState(profile_id=profile_id, seen=seen, resume=resume, newest=newest))
    else:
        state.seen, state.resume, state.newest = seen, resume, newest


def select_crawl_runs(session: Session, profile_id: str | None = None, limit: int = 20
                      ) -> Sequence[CrawlRun]:
    """The newest crawls first, of one profile or all."""
    query = select(CrawlRun).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
    if profile_id is not None:
        query = query.where(CrawlRun.profile_id == profile_id)
    return session.scalars(query.limit(limit)).all()


def crawl_run_at(session: Session, profile_id: str, at: datetime) -> CrawlRun | None:
    """The crawl of ``profile_id`` that was running at ``at``: the crawl run in an alert's
    lineage (its source is the profile's id, ``at`` its crawl time). None for a comment that no
    profile's crawl brought, such as a hand-written spider's."""
    query = (select(CrawlRun)
             .where(CrawlRun.profile_id == profile_id, CrawlRun.started_at <= at,
                    CrawlRun.finished_at >= at)
             .order_by(CrawlRun.started_at.desc()).limit(1))
    return session.scalars(query).first()


def last_new_at(session: Session, profile_id: str) -> datetime | None:
    """When a crawl of the profile that sent something new or edited last ended."""
    return session.scalar(select(func.max(CrawlRun.finished_at)).where(
        CrawlRun.profile_id == profile_id, CrawlRun.new_items > 0))


def first_crawl_at(session: Session, profile_id: str) -> datetime | None:
    return session.scalar(select(func.min(CrawlRun.started_at)).where(
        CrawlRun.profile_id == profile_id))


def open_source_alerts(session: Session, profile_id: str | None = None) -> Sequence[SourceAlert]:
    query = select(SourceAlert).where(SourceAlert.resolved_at.is_(None))
    if profile_id is not None:
        query = query.where(SourceAlert.profile_id == profile_id)
    return session.scalars(query.order_by(SourceAlert.raised_at)).all()


def forget_crawl_state(session: Session, profile_id: str) -> int:
    """Drop what the profile's crawls have seen and where their paging stopped, so its next
    crawl reads the whole site and sends every comment again: what a one-shot run such as
    ``yuqing demo`` needs on a store that earlier runs used. How many seen comments it forgot."""
    state = session.get(CrawlState, profile_id)
    if state is None:
        return 0
    session.delete(state)
    return len(state.seen)
