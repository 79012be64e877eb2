"""64-bit Kafka offsets; keywords that plain SQL and the ``--keyword`` filter can find.

Offsets are 64-bit in Kafka, and a busy partition passes 2**31. Keywords were JSON with
``\\u`` escapes (``json.dumps``' default), which ``LIKE '%京东%'`` never matches: PostgreSQL now
stores them as JSONB (parsed, so unescaped) with a GIN index for containment (``@>``); SQLite
keeps JSON text, rewritten here as UTF-8, which the engine now writes too.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_JSON_COLUMNS = ("tokens", "keywords")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # On SQLite each batch rebuilds its table, copying the rows; on PostgreSQL it is ALTER TABLE.
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("kafka_offset", existing_type=sa.Integer(), type_=sa.BigInteger(),
                           existing_nullable=False)
        if postgresql:
            for column in _JSON_COLUMNS:
                batch.alter_column(column, existing_type=sa.JSON(), type_=JSONB(),
                                   existing_nullable=False, postgresql_using=f"{column}::jsonb")
    with op.batch_alter_table("dead_letters") as batch:
        batch.alter_column("kafka_offset", existing_type=sa.Integer(), type_=sa.BigInteger(),
                           existing_nullable=True)
    if postgresql:
        op.create_index("ix_alerts_keywords", "alerts", ["keywords"], postgresql_using="gin",
                        postgresql_ops={"keywords": "jsonb_path_ops"})
    else:
        _rewrite_json_as_utf8()


def _rewrite_json_as_utf8() -> None:
    bind = op.get_bind()
    # Only rows with an escape need rewriting (SQLite's LIKE has no escape character by default).
    escaped = bind.execute(sa.text(
        "SELECT comment_id, tokens, keywords FROM alerts"
        r" WHERE tokens LIKE '%\u%' OR keywords LIKE '%\u%'"
    )).all()
    if not escaped:
        return
    bind.execute(
        sa.text("UPDATE alerts SET tokens = :tokens, keywords = :keywords"
                " WHERE comment_id = :comment_id"),
        [{"comment_id": comment_id,
          "tokens": json.dumps(json.loads(tokens), ensure_ascii=False),
          "keywords": json.dumps(json.loads(keywords), ensure_ascii=False)}
         for comment_id, tokens, keywords in escaped],
    )


def downgrade() -> None:
    # Unescaped JSON stays valid JSON, so SQLite's text needs no rewrite back. Offsets past
    # 2**31 make PostgreSQL refuse the narrowing, which is better than truncating them.
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.drop_index("ix_alerts_keywords", table_name="alerts")
    with op.batch_alter_table("dead_letters") as batch:
        batch.alter_column("kafka_offset", existing_type=sa.BigInteger(), type_=sa.Integer(),
                           existing_nullable=True)
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("kafka_offset", existing_type=sa.BigInteger(), type_=sa.Integer(),
                           existing_nullable=False)
        if postgresql:
            for column in _JSON_COLUMNS:
                batch.alter_column(column, existing_type=JSONB(), type_=sa.JSON(),
                                   existing_nullable=False, postgresql_using=f"{column}::json")
