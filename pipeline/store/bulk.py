"""Loading many alerts at once, each with its own stored time: how a benchmark or a demo seeds a
store with weeks of alerts in seconds.

:func:`pipeline.store.queries.record_scores` is the job's path: it checks each version against
the stored one and keeps history, which is most of its cost, and it stamps every alert with the
time of writing, so a store seeded through it would hold a month of alerts all made "now".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from pipeline.store.models import Alert


def load_alerts(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new alerts in one executemany: each row holds the columns of
    :class:`pipeline.records.AlertRow` (times in UTC, which SQLite needs to sort them) plus
    ``created_at``, and may set ``updated_at``, ``withdrawn_at``, ``status`` and ``verdict``.
    An id already stored fails the batch: this is for seeding, not for updates."""
    if rows:
        session.execute(insert(Alert), [dict(row) for row in rows])


def settle(session: Session) -> None:
    """Bring the planner's statistics up to date after a bulk load, as PostgreSQL's autovacuum
    soon does by itself; until then it plans for an empty table (a sequential scan where an
    index serves). SQLite keeps no statistics unless asked, and the store never asks."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE alerts"))
