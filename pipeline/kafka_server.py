"""A real Apache Kafka broker (KRaft, one node, data on disk) as a child process.

tansu (:mod:`pipeline.broker`) forgets everything when it stops; this broker keeps its topics
and offsets in a data directory, so integration and fault tests can kill it and start it again,
and an operator can keep a persistent local broker (``yuqing broker --kafka``). Its jars come
from Maven Central (``make kafka-jars``); nothing here downloads anything.

The child dies with us exactly as tansu does (its own process group, ``PR_SET_PDEATHSIG``), and
SIGTERM lets Kafka flush and close its logs before it exits.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import subprocess
import time
from base64 import urlsafe_b64encode
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from pipeline.broker import (
    BrokerError,
    answers,
    describe_exit,
    die_with_parent_hook,
    ensure_port_free,
    free_port,
    run_in_foreground,
)
from pipeline.config import Settings

log = logging.getLogger(__name__)

# Must equal kafka.version in deploy/kafka/pom.xml, which `make kafka-jars` fetches (tested).
KAFKA_VERSION = "4.4.0"

_HOST = "127.0.0.1"
_HEAP = "-Xmx512m"
_POLL_S = 0.2
_STOP_TIMEOUT_S = 30.0  # a controlled shutdown flushes every partition; a few seconds usually
_FORMAT_TIMEOUT_S = 120.0
_ADMIN_TIMEOUT_MS = 5_000
_LOG_TAIL_BYTES = 16_384
_LOG_ROTATE_BYTES = 20 * 1024 * 1024  # one previous log is kept, so a crash stays readable
_MAIN_JAR = f"kafka_2.13-{KAFKA_VERSION}.jar"

# Kafka's default INFO level, on stdout, which goes to the log file in the data directory.
_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
"""


def libs_dir(data_dir: Path) -> Path:
    """Where `make kafka-jars` puts the jars, under the settings' ``data_dir`` (``var/``)."""
    return data_dir / "kafka" / KAFKA_VERSION / "libs"


def broker_dir(data_dir: Path) -> Path:
    """The persistent broker's own directory under the settings' ``data_dir``."""
    return data_dir / "kafka" / "data"


def _cluster_id() -> str:
    """A random cluster id in Kafka's format (what ``StorageTool random-uuid`` prints).

    Made here to spare a JVM start; like Kafka's ``Uuid.randomUuid`` it never starts with ``-``
    (the tool would read it as an option) and is never the all-zero id.
    """
    while True:
        raw = secrets.token_bytes(16)
        encoded = urlsafe_b64encode(raw).decode().rstrip("=")
        if any(raw) and not encoded.startswith("-"):
            return encoded


def _server_properties(port: int, controller_port: int, log_dirs: Path) -> str:
    """One combined broker+controller node; every replication factor is 1 because it is alone.

    A static voter (``controller.quorum.voters``) rather than a dynamic quorum, so that the
    controller port can be a fresh free port on every start and only the client port is fixed.
    """
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"listeners=PLAINTEXT://{_HOST}:{port},CONTROLLER://{_HOST}:{controller_port}",
        f"advertised.listeners=PLAINTEXT://{_HOST}:{port}",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT",
        "controller.listener.names=CONTROLLER",
        f"controller.quorum.voters=1@{_HOST}:{controller_port}",
        f"log.dirs={log_dirs}",
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "min.insync.replicas=1",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false",
        "",
    ])


def _why_it_stopped(text: str) -> str:
    """Kafka's last ERROR line with the exception line under it, else the last line."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    for index in range(len(lines) - 1, -1, -1):
        if " ERROR " in lines[index] or " FATAL " in lines[index]:
            cause = lines[index + 1] if index + 1 < len(lines) else ""
            is_exception = cause and not cause[0].isspace() and not cause.startswith("[")
            return f"{lines[index]} {cause}" if is_exception else lines[index]
    return lines[-1] if lines else "(no output)"


def _tail(log_file: BinaryIO) -> str:
    size = log_file.seek(0, os.SEEK_END)
    log_file.seek(max(0, size - _LOG_TAIL_BYTES))
    return log_file.read().decode(errors="replace")


class KafkaServer:
    """Apache Kafka on 127.0.0.1:``port`` with everything it keeps under ``data_dir``.

    ``data_dir`` holds ``server.properties``, ``server.log`` (the broker's output) and
    ``kafka-logs/`` (partitions and the KRaft metadata). The first start formats it; later
    starts, after a stop or a kill, reuse it. :meth:`start` may be called again after
    :meth:`stop` or :meth:`kill`, on the same port.
    """

    def __init__(self, data_dir: Path, libs: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()  # absolute: the child runs in data_dir
        self.libs = libs.resolve()
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    @property
    def bootstrap(self) -> str:
        return f"{_HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def _log_dirs(self) -> Path:
        return self.data_dir / "kafka-logs"

    def start(self, timeout_s: float = 90.0) -> KafkaServer:
        """Start and return once the broker answers a metadata request, not just a connect."""
        java = self._java()
        ensure_port_free(self.port)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config(free_port())
        self._format_once(java, config)
        began = time.monotonic()
        self._log = self._open_log()
        try:
            self._process = self._spawn(java, config, self._log)
            self._wait_until_ready(began + timeout_s)
        except BaseException:
            self.stop()
            raise
        log.info("Apache Kafka %s ready on %s in %.1fs (pid %d, data in %s)", KAFKA_VERSION,
                 self.bootstrap, time.monotonic() - began, self._process.pid, self.data_dir)
        return self

    def _java(self) -> str:
        """Check what the broker needs before touching the data directory."""
        if not (self.libs / _MAIN_JAR).is_file():
            raise BrokerError(f"Apache Kafka {KAFKA_VERSION} jars not found in {self.libs}; "
                              "run `make kafka-jars`")
        java = shutil.which("java")
        if java is None:
            raise BrokerError("java not found on PATH; Apache Kafka needs a Java 17+ runtime "
                              "(apt-get install openjdk-17-jre-headless)")
        return java

    def _write_config(self, controller_port: int) -> Path:
        """Rewritten on every start: the ports may change, the data stays."""
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2)
        config = self.data_dir / "server.properties"
        config.write_text(_server_properties(self.port, controller_port, self._log_dirs))
        return config

    def _classpath(self) -> str:
        return str(self.libs / "*")

    def _jvm(self, java: str) -> list[str]:
        log4j = f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}"
        return [java, _HEAP, "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true", log4j,
                "-cp", self._classpath()]

    def _format_once(self, java: str, config: Path) -> None:
        """Format with Kafka's own StorageTool, only if the directory was never formatted."""
        if (self._log_dirs / "meta.properties").exists():
            return
        command = [*self._jvm(java), "kafka.tools.StorageTool", "format",
                   "-t", _cluster_id(), "-c", str(config)]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=_FORMAT_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise BrokerError(f"formatting {self._log_dirs} took over "
                              f"{_FORMAT_TIMEOUT_S:g}s") from None
        if done.returncode:
            raise BrokerError(f"formatting {self._log_dirs} failed: "
                              f"{_why_it_stopped(done.stderr + done.stdout)}")
        log.info("formatted %s for Apache Kafka %s", self._log_dirs, KAFKA_VERSION)

    def _open_log(self) -> BinaryIO:
        """Appended to across restarts (a crash's story spans them); rotated once it is large."""
        if self.log_path.exists() and self.log_path.stat().st_size > _LOG_ROTATE_BYTES:
            self.log_path.replace(self.log_path.with_suffix(".log.1"))
        return self.log_path.open("a+b")

    def _spawn(self, java: str, config: Path, log_file: BinaryIO) -> subprocess.Popen[bytes]:
        # Own process group: a terminal's Ctrl-C reaches only us, and we stop the child.
        return subprocess.Popen(
            [*self._jvm(java), "kafka.Kafka", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
            process_group=0,
            preexec_fn=die_with_parent_hook(),
        )

    def _wait_until_ready(self, deadline: float) -> None:
        """Wait for the port (quietly), then for a metadata answer, failing fast if Kafka dies.

        The port opens while Kafka is still recovering its logs; a listed topic means it serves.
        """
        while not answers(_HOST, self.port):
            self._check_deadline(deadline)
        while not self._lists_topics():
            self._check_deadline(deadline)

    def _check_deadline(self, deadline: float) -> None:
        self.ensure_running()
        if time.monotonic() > deadline:
            raise BrokerError(f"Apache Kafka on {self.bootstrap} not ready in time; see "
                              f"{self.log_path}")
        time.sleep(_POLL_S)

    def _lists_topics(self) -> bool:
        try:
            admin = KafkaAdminClient(bootstrap_servers=[self.bootstrap],
                                     request_timeout_ms=_ADMIN_TIMEOUT_MS,
                                     bootstrap_timeout_ms=_ADMIN_TIMEOUT_MS)
        except KafkaError:
            return False
        try:
            admin.list_topics()
        except KafkaError:
            return False
        finally:
            admin.close()
        return True

    def ensure_running(self) -> None:
        """Raise :class:`BrokerError`, quoting the log, if Kafka has exited."""
        assert self._process is not None and self._log is not None, "broker not started"
        returncode = self._process.poll()
        if returncode is not None:
            raise BrokerError(f"Apache Kafka on {self.bootstrap} {describe_exit(returncode)}: "
                              f"{_why_it_stopped(_tail(self._log))} (log: {self.log_path})")

    def stop(self) -> None:
        """SIGTERM for a controlled shutdown; SIGKILL if it takes longer than it should."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.warning("Apache Kafka on %s ignored SIGTERM for %gs; killing it",
                            self.bootstrap, _STOP_TIMEOUT_S)
                self._process.kill()
                self._process.wait()
            log.info("Apache Kafka on %s stopped", self.bootstrap)
        self._forget()

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: nothing is flushed or closed."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        self._forget()

    def _forget(self) -> None:
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def wait(self) -> int:
        """Block until Kafka exits."""
        assert self._process is not None, "broker not started"
        return self._process.wait()

    def __enter__(self) -> KafkaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(port: int, settings: Settings, ready: Callable[[str], None]) -> signal.Signals:
    """The persistent broker in the foreground (``yuqing broker --kafka``), its data under
    ``settings.data_dir``/kafka/data; see :func:`pipeline.broker.run_in_foreground`."""
    server = KafkaServer(broker_dir(settings.data_dir), libs_dir(settings.data_dir), port)
    return run_in_foreground(server, settings, ready)
