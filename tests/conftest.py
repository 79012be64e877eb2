"""Shared fixtures: real servers on loopback, started per test and always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.broker import EmbeddedBroker
from pipeline.config import Settings
from pipeline.kafka import ensure_topics


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A fresh, empty tansu broker on a free 127.0.0.1 port."""
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path, broker: EmbeddedBroker) -> Settings:
    """Settings pointing at the test broker, a temp SQLite file and unique topics."""
    configured = Settings(
        kafka_bootstrap=broker.bootstrap,
        database_url=f"sqlite:///{tmp_path / 'yuqing.db'}",
        kafka_timeout_s=10,
    )
    ensure_topics(configured)
    return configured
