"""``yuqing`` as a child process, configured like the caller's own settings: how the benches
and the integration tests run the job, a crawl or a broker as an operator would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pipeline.broker import die_with_parent_hook
from pipeline.config import Settings

# What a child must agree on with the bench: where the data and artifacts are, which broker,
# topics, group and store, and what the reference assumes about scoring.
_CHILD_SETTINGS = ("data_dir", "kafka_bootstrap", "kafka_timeout_s", "topic_comments",
                   "topic_dead_letters", "consumer_group", "database_url", "model", "model_path",
                   "corrector_lm", "correct_text", "alert_threshold", "progress_interval_s")


def child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name in _CHILD_SETTINGS:
        value = getattr(settings, name)
        variable = f"YUQING_{name.upper()}"
        if value is None:
            env.pop(variable, None)
        else:
            env[variable] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


class Child:
    """``yuqing ARGS`` in a process group of its own, its output in a log file.

    Its own group keeps a terminal's Ctrl-C away from it (the bench stops it), and a SIGKILL of
    the group takes anything it started too; it dies with the bench on every path
    (``PR_SET_PDEATHSIG``).
    """

    def __init__(self, args: Sequence[str], settings: Settings, log_path: Path,
                 stdout_path: Path | None = None) -> None:
        self.log_path = log_path
        self.stdout_path = stdout_path
        self.started_at = time.monotonic()
        # The child holds its own copies of the descriptors; ours are closed at once.
        with contextlib.ExitStack() as files:
            log_file = files.enter_context(log_path.open("wb"))
            self._process = subprocess.Popen(
                [sys.executable, "-m", "pipeline", *args], env=child_env(settings),
                stdin=subprocess.DEVNULL,
                stdout=files.enter_context(stdout_path.open("wb")) if stdout_path else log_file,
                stderr=log_file, process_group=0, preexec_fn=die_with_parent_hook())

    def poll(self) -> int | None:
        return self._process.poll()

    def send(self, signum: int) -> None:
        """A signal to the child alone, not its group: as a supervisor stops a service."""
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signum)

    def wait(self, timeout_s: float) -> int | None:
        """Its exit status, or None if it is still running after ``timeout_s``."""
        try:
            return self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def interrupt(self, timeout_s: float = 60.0) -> int:
        """Ctrl-C (SIGINT), as an operator stops a stream that does not end by itself (a
        checkpointed job on Flink); a SIGKILL if it has not exited within ``timeout_s``."""
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGINT)
            try:
                return self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        return self._process.returncode

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost machine would: nothing is flushed or closed."""
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()

    def log_text(self) -> str:
        return self.log_path.read_bytes().decode(errors="replace")

    def last_line(self) -> str:
        lines = [line for line in self.log_text().splitlines() if line.strip()]
        return lines[-1].strip() if lines else "(no output)"
