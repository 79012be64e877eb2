"""Shared fixtures: real servers on loopback, started per test and always stopped."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.demosite.comments import DemoComment, demo_comments
from devkit.demosite.server import DemoSite
from pipeline.broker import EmbeddedBroker
from pipeline.config import Settings
from pipeline.kafka import ensure_topics
from pipeline.kafka_server import KAFKA_VERSION, KafkaServer, libs_dir
from pipeline.store.migrations import upgrade


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A fresh, empty tansu broker on a free 127.0.0.1 port."""
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path, broker: EmbeddedBroker) -> Settings:
    """Settings pointing at the test broker, with its topics, and a migrated temp SQLite file."""
    configured = Settings(
        kafka_bootstrap=broker.bootstrap,
        database_url=f"sqlite:///{tmp_path / 'yuqing.db'}",
        kafka_timeout_s=10,
    )
    ensure_topics(configured)
    upgrade(configured.database_url)
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


POSTGRES_PASSWORD = "yuqing-test"


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server in a temp dir on a free loopback port, run as user postgres.

    It demands a password (scram-sha-256), as a deployed server does, so tests see the errors a
    refused login gives; the URL carries :data:`POSTGRES_PASSWORD`. Skipped when the server is
    not installed, except in CI (``CI`` set), where `make test` installs it and a missing server
    is a failure.
    """
    import os
    import shutil
    import subprocess
    import tempfile

    from pipeline.broker import free_port, wait_for_port

    bin_dir = _pg_bin()
    if bin_dir is None or shutil.which("runuser") is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; `make test` should have installed it")
        pytest.skip("PostgreSQL server not installed (apt-get install postgresql)")
    # Not under pytest's tmp dir: that is private to root, and the server runs as postgres.
    data = Path(tempfile.mkdtemp(prefix="yuqing-pg-"))
    shutil.chown(data, "postgres")
    port = free_port()

    def as_postgres(*args: str) -> None:
        done = subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True,
                              text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}")

    pwfile = data / "pwfile"
    pwfile.write_text(POSTGRES_PASSWORD)
    shutil.chown(pwfile, "postgres")
    as_postgres(str(bin_dir / "initdb"), "-D", str(data / "db"), "--auth=scram-sha-256",
                f"--pwfile={pwfile}", "-U", "postgres")
    as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-l", str(data / "log"), "-w",
                "-o", f"-p {port} -h 127.0.0.1 -k {data}", "start")
    try:
        wait_for_port("127.0.0.1", port, 30)
        yield f"postgresql+psycopg://postgres:{POSTGRES_PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)


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
