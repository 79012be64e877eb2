"""A throwaway PostgreSQL server for tests and the fault bench: real, local, and easy to break.

The store's tests and ``yuqing bench faults`` need a server they may stop, crash and start again
under a running job, which a shared or managed database would not allow. This one lives in a
temp dir, listens on a free loopback port, and demands a password (scram-sha-256) as a deployed
server does, so its URL sees the errors a refused login gives.

PostgreSQL refuses to run as root; run as root (as in CI containers), every server command runs
as the ``postgres`` user through ``runuser``, and the data directory belongs to that user.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from pipeline.broker import free_port, wait_for_port

_HOST = "127.0.0.1"
_SERVER_USER = "postgres"
_COMMAND_TIMEOUT_S = 60
_START_TIMEOUT_S = 30.0


def _bin_dir() -> Path | None:
    """Debian keeps the server's tools off PATH, one directory per major version: the newest."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                   key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0)
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _as_root() -> bool:
    return os.geteuid() == 0


class PostgresServer:
    """One server for the life of a ``with`` block (or :meth:`start` … :meth:`close`).

    The first :meth:`start` creates the cluster; :meth:`stop` and :meth:`kill` leave its data,
    and a later :meth:`start` brings it back on the same port with the same data, as a restarted
    production server would come back at the same address.
    """

    def __init__(self, password: str | None = None) -> None:
        self.password = password or secrets.token_urlsafe(12)
        self.port = free_port()
        self._bin = _bin_dir()
        self._dir: Path | None = None

    @staticmethod
    def missing() -> str | None:
        """What this machine lacks to run a server, as one line; None when nothing is missing."""
        if _bin_dir() is None:
            return "PostgreSQL server not installed (apt-get install postgresql)"
        if _as_root() and shutil.which("runuser") is None:
            return "runuser not found: needed to run PostgreSQL as its own user under root"
        if _as_root():
            try:
                pwd.getpwnam(_SERVER_USER)
            except KeyError:
                return f"no {_SERVER_USER!r} user to run PostgreSQL as under root"
        return None

    @property
    def url(self) -> str:
        return (f"postgresql+psycopg://{_SERVER_USER}:{self.password}@{_HOST}:{self.port}"
                "/postgres")

    @property
    def data_dir(self) -> Path:
        assert self._dir is not None, "server never started"
        return self._dir / "db"

    @property
    def log_path(self) -> Path:
        assert self._dir is not None, "server never started"
        return self._dir / "log"

    def start(self) -> PostgresServer:
        """Create the cluster on the first call; start it and wait until it accepts connections."""
        if self._dir is None:
            self._create()
        self._pg_ctl("start", "-l", str(self.log_path), "-o",
                     f"-p {self.port} -h {_HOST} -k {self._dir}")
        wait_for_port(_HOST, self.port, _START_TIMEOUT_S)
        return self

    def _create(self) -> None:
        if missing := self.missing():
            raise RuntimeError(missing)
        # Not under a caller's private temp dir: the server user must be able to reach it.
        self._dir = Path(tempfile.mkdtemp(prefix="yuqing-pg-"))
        pwfile = self._dir / "pwfile"
        pwfile.write_text(self.password)
        if _as_root():
            shutil.chown(self._dir, _SERVER_USER)
            shutil.chown(pwfile, _SERVER_USER)
        try:
            self._run(self._tool("initdb"), "-D", str(self.data_dir), "--auth=scram-sha-256",
                      f"--pwfile={pwfile}", "-U", _SERVER_USER)
        except BaseException:
            self._remove()
            raise
        pwfile.unlink()

    def stop(self, mode: str = "fast") -> None:
        """A fast shutdown by default, as in a fail-over: open sessions are cut off
        mid-transaction, and nothing is accepted until :meth:`start`."""
        self._pg_ctl("stop", "-m", mode)

    def kill(self) -> None:
        """A crash: the server quits at once without a checkpoint and recovers on the next
        start (``pg_ctl stop -m immediate``; a SIGKILL of the postmaster would leave its
        backends holding the shared memory, and no new server could start over them)."""
        self.stop("immediate")

    def running(self) -> bool:
        return self._dir is not None and self._pg_ctl("status", check=False).returncode == 0

    def close(self) -> None:
        """Stop the server if it runs and delete everything it kept."""
        if self._dir is None:
            return
        if self.running():
            self.kill()
        self._remove()

    def _remove(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _tool(self, name: str) -> str:
        assert self._bin is not None, "PostgreSQL server not installed"
        return str(self._bin / name)

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(self._tool("pg_ctl"), "-D", str(self.data_dir), "-w", *args,
                         check=check)

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", _SERVER_USER, "--"] if _as_root() else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True,
                              timeout=_COMMAND_TIMEOUT_S, check=False)
        if check and done.returncode:
            raise RuntimeError(f"{Path(command[0]).name} failed: "
                               f"{(done.stderr or done.stdout).strip()}")
        return done

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
