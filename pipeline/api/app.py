"""The API application: its routers on one store engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.middleware.base import RequestResponseEndpoint

from pipeline.api.kafka_lag import KafkaLag
from pipeline.api.routers import (
    alerts,
    crawls,
    dashboard,
    dead_letters,
    health,
    metrics,
    silences,
    stats,
    surges,
)
from pipeline.config import Settings
from pipeline.store.engine import open_store


def create_app(settings: Settings) -> FastAPI:
    """The app for ``settings``' store, checked (reachable, migrated) before it serves."""
    engine = open_store(settings.database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="Yuqing", version="1", lifespan=lifespan,
                  description="Negative-comment alerts, their lineage and crawl health. Every "
                  "route but /healthz needs a bearer token from `yuqing token create`.")
    app.state.engine = engine
    app.state.kafka_lag = KafkaLag(settings)
    app.middleware("http")(_refuse_nul)
    app.include_router(health.router)
    app.include_router(alerts.router)
    app.include_router(dead_letters.router)
    app.include_router(crawls.router)
    app.include_router(metrics.router)
    app.include_router(stats.router)
    app.include_router(surges.router)
    app.include_router(silences.router)
    app.include_router(dashboard.router)
    app.mount("/static", dashboard.assets, name="static")
    return app


async def _refuse_nul(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """A NUL character in the path or the query is a 400 here: PostgreSQL refuses NUL in any
    text value, so it would otherwise fail deep in a query as a 500."""
    if "\x00" in request.url.path or "\x00" in unquote_plus(request.url.query):
        return JSONResponse({"detail": "NUL characters are not allowed in the path or query"},
                            status_code=status.HTTP_400_BAD_REQUEST)
    return await call_next(request)
