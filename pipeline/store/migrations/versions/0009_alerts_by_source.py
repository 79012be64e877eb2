"""Alerts indexed by (source, created_at) instead of source alone: a page of one source's
alerts, newest first, no longer sorts all of that source's alerts (`yuqing bench api`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_alerts_source_created_at", "alerts", ["source", "created_at"])
    op.drop_index("ix_alerts_source", table_name="alerts")


def downgrade() -> None:
    op.create_index("ix_alerts_source", "alerts", ["source"])
    op.drop_index("ix_alerts_source_created_at", table_name="alerts")
