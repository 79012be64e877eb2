"""Shared fixtures: real servers on loopback, started per test and always stopped."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from devkit.demosite.comments import DemoComment, demo_comments
from devkit.demosite.server import DemoSite
from devkit.postgres import PostgresServer
from pipeline.broker import EmbeddedBroker
from pipeline.config import Settings
from pipeline.kafka import ensure_topics
from pipeline.kafka_server import KAFKA_VERSION, KafkaServer, libs_dir
from pipeline.store.migrations import upgrade
from tests.utils.brokers import own_topics
from tests.utils.store import drop_all_tables


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A fresh, empty tansu broker on a free 127.0.0.1 port."""
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as running:
        yield running


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings pointing at the test broker, with its topics, and a migrated temp SQLite file.

    The broker is tansu (the ``broker`` fixture) unless the test is parametrized with
    ``tests.utils.brokers.ON_EACH_BROKER``, which also runs it on the session's Apache Kafka.
    """
    database_url = f"sqlite:///{tmp_path / 'yuqing.db'}"
    upgrade(database_url)
    if getattr(request, "param", "tansu") == "apache-kafka":
        kafka = request.getfixturevalue("apache_kafka")
        return own_topics(kafka.bootstrap, f"t-{uuid4().hex[:12]}", database_url=database_url)
    broker = request.getfixturevalue("broker")
    configured = Settings(kafka_bootstrap=broker.bootstrap, database_url=database_url,
                          kafka_timeout_s=10)
    ensure_topics(configured)
    return configured


@pytest.fixture(scope="session")
def comments() -> list[DemoComment]:
    """Every demo comment: the whole test split, so coverage checks see all real texts."""
    return demo_comments()


@pytest.fixture
def demo_site(comments: list[DemoComment]) -> Iterator[DemoSite]:
    """The demo review site on a free 127.0.0.1 port."""
    with DemoSite(comments) as site:
        yield site


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server in a temp dir on a free loopback port, shared by the session.

    It demands a password (scram-sha-256), as a deployed server does, so tests see the errors a
    refused login gives. Tests may stop or kill it but must start it again. Skipped when the
    server is not installed, except in CI (``CI`` set), where `make test` installs it and a
    missing server is a failure.
    """
    missing = PostgresServer.missing()
    if missing and os.environ.get("CI"):
        pytest.fail(f"{missing}; `make test` should have installed it")
    if missing:
        pytest.skip(missing)
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres: PostgresServer) -> str:
    """The session server's URL, password included."""
    return postgres.url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated store; the shared PostgreSQL server's tables are dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'yuqing.db'}"
        upgrade(url)
        yield url
        return
    url = request.getfixturevalue("postgres_url")
    upgrade(url)
    yield url
    drop_all_tables(url)


def _missing_for_kafka(libs: Path) -> str | None:
    if shutil.which("java") is None:
        return "java (a Java 17+ runtime)"
    if not (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file():
        return f"Apache Kafka {KAFKA_VERSION} jars (`make kafka-jars`)"
    return None


@pytest.fixture(scope="session")
def kafka_libs() -> Path:
    """The Apache Kafka jars `make kafka-jars` fetched into this checkout's var/.

    Skipped when they or java are missing, except in CI (``CI`` set), where `make test` fetches
    the jars and anything missing is a failure.
    """
    libs = libs_dir(Path(__file__).resolve().parents[1] / "var")
    missing = _missing_for_kafka(libs)
    if missing and os.environ.get("CI"):
        pytest.fail(f"{missing} not installed; CI must provide it")
    if missing:
        pytest.skip(f"{missing} not installed")
    return libs


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory, kafka_libs: Path
                 ) -> Iterator[KafkaServer]:
    """One real Apache Kafka broker (KRaft, data on disk) for the session, always stopped.

    Tests may ``kill()`` and ``start()`` it again (same port, same data) but must leave it
    running for the next one.
    """
    server = KafkaServer(tmp_path_factory.mktemp("apache-kafka"), kafka_libs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def restarted(apache_kafka: KafkaServer) -> Iterator[KafkaServer]:
    """The session's Apache Kafka broker for a test that kills or stops it: running again
    afterwards, whatever the test did to it."""
    yield apache_kafka
    if apache_kafka.pid is None:
        apache_kafka.start()
