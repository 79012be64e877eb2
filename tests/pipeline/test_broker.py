"""The foreground broker never leaves tansu behind, never serves a port it did not bind, and
never exits 0 when its child died.

Each test runs :func:`pipeline.broker.serve` in a real child Python, as ``yuqing broker`` does,
because signals, process death and ports are the behaviour under test.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from pipeline.broker import BrokerError, EmbeddedBroker, free_port
from tests.utils.paths import REPO_ROOT

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; PDEATHSIG")


# What the CLI command does, minus typer.
SERVE = """
import sys
from pipeline.broker import BrokerError, serve
from pipeline.config import Settings

port = int(sys.argv[1])
try:
    serve(port, Settings(kafka_bootstrap=f"127.0.0.1:{port}"),
          ready=lambda bootstrap: print(f"broker ready on {bootstrap}", flush=True))
except BrokerError as exc:
    sys.exit(f"error: {exc}")
"""

def _children(pid: int) -> list[int]:
    """Pids whose parent is ``pid``, from /proc (this kernel has no task/*/children)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            fields = stat.read_text().rpartition(")")[2].split()  # after "(comm)": state, ppid
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """A zombie counts as dead: it only waits for whoever adopted it to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class Brokers:
    """Runs ``serve`` in child Pythons and remembers every process, tansu included, to kill."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen[str]] = []
        self._tansus: list[int] = []

    def start(self, port: int) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=REPO_ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._started.append(process)
        return process

    def wait_ready(self, process: subprocess.Popen[str], timeout_s: float = 15.0) -> int:
        """Wait for the ready line and return the tansu child's pid."""
        assert process.stdout is not None and process.stderr is not None
        readable, _, _ = select.select([process.stdout], [], [], timeout_s)
        line = process.stdout.readline() if readable else ""
        if not line.startswith("broker ready on"):
            process.kill()
            pytest.fail(f"no ready line; stdout={line!r} stderr={process.stderr.read()!r}")
        (tansu,) = _children(process.pid)
        self._tansus.append(tansu)
        return tansu

    def kill_all(self) -> None:
        for process in self._started:
            process.kill()
            process.communicate()
        for pid in self._tansus:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def brokers() -> Iterator[Brokers]:
    running = Brokers()
    try:
        yield running
    finally:
        running.kill_all()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=str)
def test_a_stop_signal_stops_tansu_frees_the_port_and_exits_0(
    brokers: Brokers, stop: signal.Signals
) -> None:
    port = free_port()
    process = brokers.start(port)
    tansu = brokers.wait_ready(process)

    process.send_signal(stop)

    assert process.wait(timeout=10) == 0
    assert not _alive(tansu)
    assert _port_free(port)


def test_sigkill_of_the_parent_takes_tansu_down_with_it(brokers: Brokers) -> None:
    port = free_port()
    process = brokers.start(port)
    tansu = brokers.wait_ready(process)

    process.kill()
    process.wait(timeout=5)

    assert _eventually(lambda: not _alive(tansu)), "tansu outlived its SIGKILLed parent"
    assert _eventually(lambda: _port_free(port))


def test_a_second_broker_on_a_taken_port_fails_naming_the_port(brokers: Brokers) -> None:
    port = free_port()
    first = brokers.start(port)
    tansu = brokers.wait_ready(first)

    out, err = brokers.start(port).communicate(timeout=10)

    assert "ready" not in out
    assert err.strip().startswith("error: ")
    assert "\n" not in err.strip()
    assert f"port {port}" in err
    assert first.poll() is None and _alive(tansu)
    socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_embedded_broker_refuses_a_taken_port(broker: EmbeddedBroker) -> None:
    with pytest.raises(BrokerError, match=f"port {broker.port} "):
        EmbeddedBroker(port=broker.port).start()
    socket.create_connection(("127.0.0.1", broker.port), timeout=2).close()


def test_the_death_of_tansu_ends_serve_with_a_one_line_error(brokers: Brokers) -> None:
    port = free_port()
    process = brokers.start(port)
    tansu = brokers.wait_ready(process)

    os.kill(tansu, signal.SIGKILL)
    _, err = process.communicate(timeout=10)

    assert process.returncode != 0
    assert err.strip().startswith(f"error: broker on 127.0.0.1:{port} was killed by SIGKILL")
    assert "\n" not in err.strip()
    assert _port_free(port)
