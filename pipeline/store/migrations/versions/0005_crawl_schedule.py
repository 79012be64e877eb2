"""Scheduled crawls: where an interrupted crawl resumes, the newest comment of each start URL
(for ``since_id`` paging), and the scheduler's jobs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_state") as batch:
        batch.add_column(sa.Column("resume", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("newest", sa.JSON(), nullable=False, server_default="{}"))
    op.create_table(
        "scheduled_crawls",
        sa.Column("id", sa.String(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_scheduled_crawls_next_run_time", "scheduled_crawls", ["next_run_time"])


def downgrade() -> None:
    op.drop_table("scheduled_crawls")
    with op.batch_alter_table("crawl_state") as batch:
        batch.drop_column("newest")
        batch.drop_column("resume")
