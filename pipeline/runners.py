"""Which Beam runner runs the job, and the Beam options each one needs.

An operator names a runner in one word (``--runner local|prism|flink``) and the few settings that
differ between deployments (a Flink master, a worker pool, a checkpoint interval); this module
turns them into Beam's options, fills in the runner's binary or jar from the data directory where
``make prism`` and ``make flink-job-server`` put them, and refuses, in one line, what would
otherwise fail after hundreds of lines of Beam and Flink logs: a missing binary or jar, no Java,
``--until-idle`` where the runner cannot end the stream.

- ``local``: Beam's in-process FnApiRunner, the default (nothing to install).
- ``prism``: Beam's portable local runner, a Go binary built at the installed Beam's version.
- ``flink``: Flink 1.19 through Beam's Flink job server. ``--flink-master [local]`` (the default)
  starts an embedded cluster in the job server; ``host:port`` submits to a running cluster. The
  Python workers run in this process (LOOPBACK) unless ``--worker-pool`` names an external pool
  (``python -m apache_beam.runners.worker.worker_pool_main``), as a cluster needs.
  ``--parallelism N`` runs N copies of every step, sharing the topic's partitions (each read by
  one copy) and the surge counts (Flink's keyed state); with a worker pool each copy of a stage
  runs in a Python process of its own, so the N reading copies use N cores. In this process
  (LOOPBACK) they share one interpreter, so one core: correct, but no faster.

Any other ``--runner`` value (``DataflowRunner``, …) goes to Beam unchanged with the rest of the
Beam options.

Maven Central serves Beam's Flink job server jar for no Beam release from 2.60 on; Beam 2.62.0 is
the newest release whose Flink runner and job service jars it serves, so ``make flink-job-server``
assembles the jar from those (``deploy/flink/job-server/pom.xml``) and the job server is 2.62.0
while the Python SDK is the installed one. The job and Fn APIs between them are versioned
protocols; the integration tests run the whole job across that gap.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import apache_beam
from apache_beam.metrics import monitoring_infos
from apache_beam.portability.api import metrics_pb2
from apache_beam.runners.portability.fn_api_runner import fn_runner

from pipeline.errors import OperatorError

log = logging.getLogger(__name__)

# Must equal beam.version and flink.minor in deploy/flink/job-server/pom.xml (tested).
FLINK_JOB_SERVER_BEAM = "2.62.0"
FLINK_MINOR = "1.19"
FLINK_LOCAL = "[local]"
# Flink finalizes a bundle, which commits its Kafka offsets, only after a checkpoint.
DEFAULT_CHECKPOINT_S = 10.0

# Python worker processes per copy of the job on Flink: one for each stage Flink makes of it
# (listing each topic's partitions, reading the comments through to the store, counting surges).
# A task manager hands its stage copies to its Python workers in turn, whatever copy they belong
# to, so with one worker per copy both reading copies could land in one process, and one core:
# at parallelism 2 with two workers, 56 s of CPU in one and 15 s in the other; with eight,
# 38 s in each of two. The workers that only list partitions stay small (about 200 MB).
FLINK_STAGES = 4

# The local runner that runs splittable and stateful DoFns live; more than one worker makes
# streaming stop silently on Beam 2.77.
LOCAL_OPTIONS = ["--runner=FnApiRunner", "--streaming", "--direct_num_workers=1"]

SHORT_NAMES = ("local", "prism", "flink")
_BEAM_NAMES = {"fnapirunner": "local", "directrunner": "local", "prismrunner": "prism",
               "flinkrunner": "flink"}


class RunnerUnavailable(OperatorError, RuntimeError):
    """The runner cannot start here; the message says what is missing and how to get it."""


@dataclass(frozen=True)
class RunnerChoice:
    """What the operator asked for; :func:`beam_options` turns it into Beam's flags."""

    runner: str = "local"
    flink_master: str = FLINK_LOCAL
    worker_pool: str | None = None
    checkpoint_s: float = DEFAULT_CHECKPOINT_S
    until_idle: bool = False
    parallelism: int = 1


def short_name(runner: str) -> str | None:
    """``flink`` for ``flink``, ``FlinkRunner`` or ``flinkrunner``; None for a runner this module
    does not set up (Beam gets it as it is)."""
    lowered = runner.lower()
    return lowered if lowered in SHORT_NAMES else _BEAM_NAMES.get(lowered)


def prism_binary(data_dir: Path) -> Path:
    """Where ``make prism`` builds Prism for the installed Beam."""
    return data_dir / "prism" / apache_beam.__version__ / "prism"


def flink_job_server_jar(data_dir: Path) -> Path:
    """Where ``make flink-job-server`` puts the job server jar."""
    return (data_dir / "flink"
            / f"beam-runners-flink-{FLINK_MINOR}-job-server-{FLINK_JOB_SERVER_BEAM}.jar")


def beam_options(choice: RunnerChoice, data_dir: Path) -> list[str]:
    """Beam's flags for ``choice``; the operator's own Beam flags go after these and win."""
    name = short_name(choice.runner)
    if choice.parallelism < 1:
        raise RunnerUnavailable(f"--parallelism must be 1 or more (got {choice.parallelism})")
    if choice.parallelism > 1 and name != "flink":
        raise RunnerUnavailable(
            f"--parallelism {choice.parallelism} needs --runner flink: the local runner and "
            "Prism run the job in one process (on Dataflow, Beam's own --num_workers and "
            "autoscaling apply)")
    if name is None:
        return ["--streaming", f"--runner={choice.runner}"]
    if name == "local":
        return list(LOCAL_OPTIONS)
    if name == "prism":
        return ["--streaming", "--runner=PrismRunner",
                f"--prism_location={_built(prism_binary(data_dir), 'make prism')}"]
    return _flink_options(choice, data_dir)


def fold_local_metrics_per_bundle() -> None:
    """Make the local runner fold each bundle's metrics into its stage's as the bundle ends.

    Beam's FnApiRunner (2.77) keeps a stage's metrics as a generator,
    ``consolidate(chain(this bundle's, the stage's so far))``, and nothing consumes it until the
    run ends. A streaming job is one run, so every bundle's response stayed alive, one generator
    deeper each time: at 100 comments/s (several bundles a second) the job grew by 1.3 MiB a
    second, in the protobuf arenas of those responses (traced with memray), and reading the
    metrics at the end raised RecursionError once a stage had run about 1,000 bundles. Folded at
    once, each stage holds one set of metrics, whatever the job's age; the totals are the same.
    The job calls this before running on the local runner; calling it again changes nothing.
    """
    fn_runner.consolidate_monitoring_infos = _folded


def _folded(infos: Iterable[metrics_pb2.MonitoringInfo]) -> list[metrics_pb2.MonitoringInfo]:
    return list(monitoring_infos.consolidate(infos))


def _flink_options(choice: RunnerChoice, data_dir: Path) -> list[str]:
    if choice.until_idle:
        raise RunnerUnavailable(
            "--until-idle cannot end a job on Flink: a checkpointed Flink stream keeps running "
            "after its input is read; stop it with Ctrl-C (or `flink cancel` on a cluster)")
    if choice.checkpoint_s <= 0:
        raise RunnerUnavailable(
            f"--checkpoint-interval must be above 0 s (got {choice.checkpoint_s:g}): on Flink "
            "the job commits its Kafka offsets only after a checkpoint")
    if shutil.which("java") is None:
        raise RunnerUnavailable("the Flink runner needs Java 11 or later on PATH "
                                "(apt-get install default-jre-headless)")
    jar = _built(flink_job_server_jar(data_dir), "make flink-job-server")
    options = ["--streaming", "--runner=FlinkRunner", f"--flink_master={choice.flink_master}",
               f"--flink_job_server_jar={jar}", f"--flink_version={FLINK_MINOR}",
               f"--checkpointing_interval={round(choice.checkpoint_s * 1000)}",
               # Without it the job server (2.62.0) sometimes never finishes the first bundle
               # of the stage that lists the partitions, and nothing downstream ever starts
               # (seen in about half the runs here); finishing bundles at each checkpoint also
               # bounds how long a bundle's offsets wait for their commit.
               "--finish_bundle_before_checkpointing",
               f"--parallelism={choice.parallelism}",
               f"--sdk_worker_parallelism={choice.parallelism * FLINK_STAGES}"]
    if choice.worker_pool:
        return [*options, "--environment_type=EXTERNAL",
                f"--environment_config={choice.worker_pool}"]
    if choice.flink_master != FLINK_LOCAL:
        raise RunnerUnavailable(
            f"--flink-master {choice.flink_master} needs --worker-pool HOST:PORT: a cluster's "
            "task managers run the Python steps in a worker pool "
            "(python -m apache_beam.runners.worker.worker_pool_main --service_port=PORT)")
    if choice.parallelism > 1:
        log.warning("--parallelism %d without --worker-pool: the Python steps run in this "
                    "process, on one core however many copies; start a worker pool and name it "
                    "with --worker-pool to use %d cores", choice.parallelism, choice.parallelism)
    return [*options, "--environment_type=LOOPBACK"]


def _built(path: Path, make_target: str) -> Path:
    if not path.is_file():
        raise RunnerUnavailable(f"{path} is missing: build it with `{make_target}` in the "
                                "repository, or set YUQING_DATA_DIR to where it was built")
    return path
