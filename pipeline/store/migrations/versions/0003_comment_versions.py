"""Comment versions: alerts that can be withdrawn, and the history of what each said.

A comment re-sent with new text is a newer version of it. ``alerts.withdrawn_at`` marks an
alert whose latest version scored positive (kept, not deleted, so a retraction stays visible);
``alert_versions`` keeps every scored version of a comment that has or had an alert.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "alert_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("comment_id", sa.String(length=512), nullable=False),
        sa.Column("crawled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("clean_text", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("kafka_topic", sa.String(length=255), nullable=False),
        sa.Column("kafka_partition", sa.Integer(), nullable=False),
        sa.Column("kafka_offset", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kafka_topic", "kafka_partition", "kafka_offset"),
    )
    op.create_index("ix_alert_versions_comment_id", "alert_versions", ["comment_id"])


def downgrade() -> None:
    op.drop_table("alert_versions")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("withdrawn_at")
