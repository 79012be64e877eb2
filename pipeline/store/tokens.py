"""API tokens: made once and shown once, kept as hashes, looked up by hash.

A token is 32 random bytes (URL-safe text); it needs no salt or slow hash, because it is not a
password a person chose: guessing it is as hard as guessing the bytes. SHA-256 keeps a copy of
the database from being a list of working tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.store.models import ApiToken

TOKEN_PREFIX = "yq_"  # recognisable in a leaked-secret scan


class Role(StrEnum):
    VIEWER = "viewer"  # reads alerts, stats, crawl health
    OPERATOR = "operator"  # also acknowledges, resolves and labels alerts


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str, role: Role) -> str:
    """A new token for ``name``; the only time the token itself is known."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, role=role.value, token_hash=_hash(token)))
    return token


def find_token(session: Session, token: str) -> ApiToken | None:
    """The token's row if it is valid (known and not revoked), noting that it was used."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token),
                                                ApiToken.revoked_at.is_(None)))
    if row is not None:
        row.last_used_at = datetime.now(UTC)
    return row


def list_tokens(session: Session) -> Sequence[ApiToken]:
    """Every token ever made, revoked ones too (they stay, for the audit trail's names)."""
    return session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def revoke_token(session: Session, token_id: int) -> ApiToken | None:
    """Stops the token from working from the next request; None if there is no such token."""
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
    return row
