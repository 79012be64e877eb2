"""A Flink session cluster on loopback and a Beam Python worker pool: the standalone-cluster
deployment of ``deploy/flink/standalone.md``, small enough for a test to start, break and stop.

The test must kill a task manager under a running job and see the job come back from its
checkpoint on a new one, which an embedded cluster (one process) cannot show. Flink's binary
distribution is not on any registry these machines reach; PyFlink's ``apache-flink-libraries``
package on PyPI carries the same ``lib/`` (``flink-dist`` and its log4j jars) without the ``bin/``
scripts, so ``make flink-dist`` unpacks that ``lib/`` and this module starts the two entry points
with ``java`` as those scripts do. Every memory size a task manager needs is set in the config
(the scripts would compute them), so the process starts without Flink's shell tooling.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from devkit.child import child_env
from pipeline.broker import die_with_parent_hook, free_port, wait_for_port
from pipeline.config import Settings

# Must equal FLINK_DIST_VERSION in the Makefile (tested), and be a FLINK_MINOR release.
FLINK_DIST_VERSION = "1.19.3"

_HOST = "localhost"
_REST_TIMEOUT_S = 10
_START_TIMEOUT_S = 90.0
_REGISTERED = "Successful registration at resource manager"
_STOP_TIMEOUT_S = 20

# One task manager: two slots, sizes small enough for a 2-core, few-GB CI machine. Heartbeats are
# short so that a killed task manager is noticed in seconds, not the default 50.
_TASK_MANAGER_MEMORY = {
    "taskmanager.memory.framework.heap.size": "128m",
    "taskmanager.memory.framework.off-heap.size": "128m",
    "taskmanager.memory.task.heap.size": "256m",
    "taskmanager.memory.task.off-heap.size": "0m",
    "taskmanager.memory.network.min": "64m",
    "taskmanager.memory.network.max": "64m",
    "taskmanager.memory.managed.size": "64m",
    "taskmanager.memory.jvm-metaspace.size": "192m",
    "taskmanager.memory.jvm-overhead.min": "128m",
    "taskmanager.memory.jvm-overhead.max": "128m",
}
_TASK_MANAGER_JVM = ["-Xms384m", "-Xmx384m", "-XX:MaxDirectMemorySize=192m",
                     "-XX:MaxMetaspaceSize=192m"]
_JOB_MANAGER_JVM = ["-Xms256m", "-Xmx512m"]

_LOG4J = """\
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = File
appender.file.name = File
appender.file.type = File
appender.file.fileName = ${sys:log.file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c{1} - %m%n
"""


def flink_dist_jar(data_dir: Path) -> Path:
    """Where ``make flink-dist`` puts ``flink-dist``; the rest of ``lib/`` is beside it."""
    return (data_dir / "flink" / f"flink-{FLINK_DIST_VERSION}" / "lib"
            / f"flink-dist-{FLINK_DIST_VERSION}.jar")


class FlinkSessionCluster:
    """One job manager and any number of task managers, each a ``java`` child in a process
    group of its own, all killed on :meth:`stop` (and with the caller, ``PR_SET_PDEATHSIG``).

    Checkpoints go to a directory under ``work_dir``; restarts are unbounded (fixed delay), as
    ``deploy/flink/standalone.md`` configures a production cluster, so a job outlives the loss
    of a task manager once another one offers slots.
    """

    def __init__(self, lib: Path, work_dir: Path, slots: int = 2) -> None:
        self.lib = lib
        self.work_dir = work_dir
        self.rest_port = free_port()
        self._rpc_port = free_port()
        self._slots = slots
        self._job_manager: subprocess.Popen[bytes] | None = None
        self._task_managers: list[subprocess.Popen[bytes]] = []

    @property
    def rest_address(self) -> str:
        """What ``yuqing run --flink-master`` takes."""
        return f"{_HOST}:{self.rest_port}"

    def __enter__(self) -> FlinkSessionCluster:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def start(self) -> FlinkSessionCluster:
        """The job manager and one task manager, ready for a job."""
        self._write_config()
        self._job_manager = self._java("jobmanager", _JOB_MANAGER_JVM,
                                       "org.apache.flink.runtime.entrypoint."
                                       "StandaloneSessionClusterEntrypoint")
        # The REST port opens before the job manager leads: until then it answers 503.
        self._wait_for("the job manager's REST API", lambda: self._rest("/overview") is not None)
        self.start_task_manager()
        return self

    def start_task_manager(self) -> None:
        """One more task manager; returns once it has registered with the job manager (whose
        count of task managers would still include one just killed)."""
        name = f"taskmanager-{len(self._task_managers) + 1}"
        self._task_managers.append(self._java(
            name, _TASK_MANAGER_JVM, "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"))
        log = self.work_dir / "log" / f"{name}.log"
        self._wait_for(f"{name} to register", lambda: log.is_file() and (
            _REGISTERED in log.read_text(errors="replace")))

    def kill_task_manager(self) -> None:
        """SIGKILL the newest live task manager, as a lost machine would end it."""
        _kill(self._live_task_managers()[-1])

    def jobs(self) -> dict[str, str]:
        """Each job's id and state (RUNNING, RESTARTING, CANCELED, …)."""
        return {job["id"]: job["status"] for job in self._rest("/jobs")["jobs"]}

    def restored_checkpoints(self, job_id: str) -> int:
        """How many times the job has been restored from a checkpoint."""
        return int(self._rest(f"/jobs/{job_id}/checkpoints")["counts"]["restored"])

    def cancel_jobs(self) -> None:
        """Cancel every job not yet ended: a job on a session cluster outlives its driver."""
        for job_id, state in self.jobs().items():
            if state not in ("CANCELED", "FINISHED", "FAILED"):
                self._rest(f"/jobs/{job_id}?mode=cancel", method="PATCH")

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.cancel_jobs()
        for process in [*self._task_managers, self._job_manager]:
            if process is not None:
                _stop(process)

    def log_tail(self, lines: int = 40) -> str:
        """The end of every process's log, for a failing test's message."""
        parts = []
        for log in sorted((self.work_dir / "log").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def _wait_for(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            with contextlib.suppress(OSError):  # refused, or 503 (urllib's errors are OSErrors)
                if ready():
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {_START_TIMEOUT_S:g}s waiting for {what}; "
                                   f"see {self.work_dir / 'log'}")
            time.sleep(0.5)

    def _live_task_managers(self) -> list[subprocess.Popen[bytes]]:
        return [process for process in self._task_managers if process.poll() is None]

    def _write_config(self) -> None:
        conf = self.work_dir / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "log").mkdir(exist_ok=True)
        settings = {
            "jobmanager.rpc.address": _HOST, "jobmanager.rpc.port": self._rpc_port,
            "jobmanager.bind-host": _HOST, "jobmanager.memory.process.size": "768m",
            "rest.address": _HOST, "rest.bind-address": _HOST, "rest.port": self.rest_port,
            "taskmanager.host": _HOST, "taskmanager.bind-host": _HOST,
            "taskmanager.numberOfTaskSlots": self._slots, "taskmanager.cpu.cores": 2,
            **_TASK_MANAGER_MEMORY,
            "heartbeat.interval": 1000, "heartbeat.timeout": 8000,
            "state.backend.type": "hashmap",
            "state.checkpoints.dir": (self.work_dir / "checkpoints").as_uri(),
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": 2**31 - 1,
            "restart-strategy.fixed-delay.delay": "2 s",
        }
        # config.yaml is YAML; flat keys with JSON-quoted values are valid YAML.
        (conf / "config.yaml").write_text(
            "".join(f"{key}: {json.dumps(value)}\n" for key, value in settings.items()))
        (conf / "log4j.properties").write_text(_LOG4J)

    def _java(self, name: str, jvm: list[str], main_class: str) -> subprocess.Popen[bytes]:
        log_dir = self.work_dir / "log"
        with (log_dir / f"{name}.out").open("wb") as out:
            return subprocess.Popen(
                ["java", *jvm, "-cp", str(self.lib / "*"), f"-Dlog.file={log_dir / name}.log",
                 f"-Dlog4j.configurationFile={self.work_dir / 'conf' / 'log4j.properties'}",
                 main_class, "--configDir", str(self.work_dir / "conf")],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                process_group=0, preexec_fn=die_with_parent_hook())

    def _rest(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"http://{self.rest_address}{path}", method=method)
        with urllib.request.urlopen(request, timeout=_REST_TIMEOUT_S) as response:
            return json.loads(response.read() or b"{}")


class WorkerPool:
    """Beam's Python worker pool (``apache_beam.runners.worker.worker_pool_main``), which the
    task managers ask for SDK workers when the job runs with ``--worker-pool``.

    The pool starts each worker as ``python`` from PATH, so PATH leads with this interpreter's
    directory: the workers must import this Yuqing and Beam, as in the deployment recipe.
    """

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.port = free_port()
        env = child_env(settings)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        with log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main",
                 f"--service_port={self.port}"],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                process_group=0, preexec_fn=die_with_parent_hook())
        wait_for_port(_HOST, self.port, _START_TIMEOUT_S)

    @property
    def address(self) -> str:
        """What ``yuqing run --worker-pool`` takes."""
        return f"{_HOST}:{self.port}"

    @property
    def pid(self) -> int:
        """The pool's process; the workers it starts are its children."""
        return self._process.pid

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        _kill(self._process)  # the SDK workers it started are in its process group


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill(process)
