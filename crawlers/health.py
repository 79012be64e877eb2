"""Crawl health: whether a source still yields comments, judged from its recent crawls.

A monitor that silently stops seeing a source is worse than one that fails loudly: a login wall, a
changed page layout or a ban all look like "nothing new" from the outside. So a source is
``silent`` when no crawl has sent anything new for longer than its profile's
``freshness.max_silence``, and ``failing`` when more than ``freshness.max_error_rate`` of its last
crawls went wrong. Each condition is an alert row in the store, raised once when it starts and
resolved by the first crawl that shows the source healthy again, so the notifications built on
it fire once per incident rather than once per crawl.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from crawlers.profiles import Profile
from pipeline.store.crawls import (
    first_crawl_at,
    last_new_at,
    open_source_alerts,
    select_crawl_runs,
)
from pipeline.store.models import SourceAlert
from pipeline.store.outbox import Notice, NoticeKind, enqueue

log = logging.getLogger(__name__)

RECENT_CRAWLS = 10
"""How many of a source's latest crawls its error rate covers."""


@dataclass(frozen=True)
class SourceHealth:
    profile_id: str
    crawls: int  # of the recent ones
    last_crawl_at: datetime | None
    last_success_at: datetime | None
    last_new_at: datetime | None
    error_rate: float | None  # None before the first crawl
    problems: dict[str, str]  # kind (silent, failing) → why

    @property
    def status(self) -> str:
        if self.crawls == 0:
            return "never crawled"
        return ", ".join(self.problems) or "ok"


def assess(session: Session, profile: Profile, now: datetime | None = None) -> SourceHealth:
    now = now or datetime.now(UTC)
    runs = select_crawl_runs(session, profile.id, RECENT_CRAWLS)
    newest = last_new_at(session, profile.id)
    problems = {}
    error_rate = None
    if runs:
        error_rate = sum(not run.ok for run in runs) / len(runs)
        if error_rate > profile.freshness.max_error_rate:
            problems["failing"] = (f"{sum(not run.ok for run in runs)} of its last {len(runs)} "
                                   "crawls went wrong (see `yuqing crawls`)")
        quiet_since = _aware(newest or first_crawl_at(session, profile.id))
        if quiet_since and now - quiet_since > profile.freshness.max_silence:
            problems["silent"] = (f"nothing new since {quiet_since:%Y-%m-%d %H:%M} UTC, longer "
                                  f"than its {profile.freshness.max_silence} allows")
    return SourceHealth(
        profile.id, len(runs), _aware(runs[0].started_at) if runs else None,
        next((_aware(run.started_at) for run in runs if run.ok), None), _aware(newest),
        error_rate, problems)


def update_alerts(session: Session, profile: Profile, now: datetime | None = None) -> SourceHealth:
    """Raises an alert for each problem the source has that has no open alert, and resolves the
    open alerts of problems it no longer has."""
    now = now or datetime.now(UTC)
    health = assess(session, profile, now)
    open_alerts = {alert.kind: alert for alert in open_source_alerts(session, profile.id)}
    for kind, detail in health.problems.items():
        if kind not in open_alerts:
            alert = SourceAlert(profile_id=profile.id, kind=kind, detail=detail, raised_at=now)
            session.add(alert)
            session.flush()  # the notice's key is the alert's id
            enqueue(session, [health_notice(alert)])
            log.warning("crawl-health alert: %s is %s: %s", profile.id, kind, detail)
    for kind, alert in open_alerts.items():
        if kind not in health.problems:
            alert.resolved_at = now
            log.info("crawl-health alert resolved: %s is no longer %s", profile.id, kind)
    return health


def health_notice(alert: SourceAlert) -> Notice:
    """The notification of a crawl-health alert, sent once per incident (its row's id)."""
    return Notice(kind=NoticeKind.CRAWL_HEALTH, key=f"crawl_health:{alert.id}",
                  title=f"Crawl health: source {alert.profile_id} is {alert.kind}",
                  body=alert.detail, source=alert.profile_id, keywords=(), score=None, url=None)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for the UTC ones it was given."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment
