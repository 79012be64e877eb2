"""Who may call the API: a bearer token made by ``yuqing token create``, and its role.

Every route but ``/healthz`` depends on :func:`viewer` or :func:`operator`; a missing, unknown
or revoked token is a 401, a viewer's token on an operator's route a 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from pipeline.store.models import ApiToken
from pipeline.store.tokens import Role, find_token

_bearer = HTTPBearer(auto_error=False, description="A token from `yuqing token create`.")


def session(request: Request) -> Iterator[Session]:
    """A store session for one request, committed when the route returns without error."""
    with Session(request.app.state.engine) as db, db.begin():
        yield db


Db = Annotated[Session, Depends(session)]


def caller(db: Db, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                          Depends(_bearer)]) -> ApiToken:
    token = find_token(db, credentials.credentials) if credentials is not None else None
    if token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid API token is needed "
                            "(Authorization: Bearer TOKEN; `yuqing token create` makes one)",
                            headers={"WWW-Authenticate": "Bearer"})
    return token


def viewer(token: Annotated[ApiToken, Depends(caller)]) -> ApiToken:
    return token


def operator(token: Annotated[ApiToken, Depends(caller)]) -> ApiToken:
    if token.role != Role.OPERATOR:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an operator's token")
    return token
