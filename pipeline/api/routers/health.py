"""``/healthz``: the one route without a token, for load balancers and Kubernetes probes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from pipeline.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz(request: Request, response: Response) -> Health:
    """200 while the store answers, 503 when it does not (so a probe takes the API out)."""
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="unavailable", store="unreachable")
    return Health(status="ok", store="ok")
