"""The API application: its routers on one store engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pipeline.api.routers import alerts, crawls, dead_letters, health, metrics
from pipeline.config import Settings
from pipeline.store.engine import check_store, make_engine


def create_app(settings: Settings) -> FastAPI:
    """The app for ``settings``' store, checked (reachable, migrated) before it serves."""
    engine = make_engine(settings.database_url)
    check_store(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="Yuqing", version="1", lifespan=lifespan,
                  description="Negative-comment alerts, their lineage and crawl health. Every "
                  "route but /healthz needs a bearer token from `yuqing token create`.")
    app.state.engine = engine
    app.include_router(health.router)
    app.include_router(alerts.router)
    app.include_router(dead_letters.router)
    app.include_router(crawls.router)
    app.include_router(metrics.router)
    return app
