"""The runner choice: short names, cached binaries and jars, and one-line refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.runners import (
    FLINK_JOB_SERVER_BEAM,
    FLINK_MINOR,
    FLINK_STAGES,
    RunnerChoice,
    RunnerUnavailable,
    beam_options,
    flink_job_server_jar,
)
from tests.utils.paths import REPO_ROOT


def test_the_job_server_versions_are_the_poms() -> None:
    pom = (REPO_ROOT / "deploy" / "flink" / "job-server" / "pom.xml").read_text()
    assert re.search(r"<beam.version>(.*)</beam.version>", pom)[1] == FLINK_JOB_SERVER_BEAM
    assert re.search(r"<flink.minor>(.*)</flink.minor>", pom)[1] == FLINK_MINOR


def test_a_missing_runner_is_one_line_that_says_how_to_build_it(tmp_path: Path) -> None:
    for runner, target in (("prism", "make prism"), ("flink", "make flink-job-server")):
        with pytest.raises(RunnerUnavailable, match=f"is missing: build it with `{target}`"):
            beam_options(RunnerChoice(runner), tmp_path)


def test_flink_refuses_what_it_cannot_do_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(RunnerUnavailable, match="--until-idle cannot end a job on Flink"):
        beam_options(RunnerChoice("FlinkRunner", until_idle=True), tmp_path)
    with pytest.raises(RunnerUnavailable, match="needs --worker-pool"):
        beam_options(RunnerChoice("flink", flink_master="jm:8081"), _with_flink_jar(tmp_path))


def test_flink_options_name_the_cached_jar_and_the_worker_pool(tmp_path: Path) -> None:
    data_dir = _with_flink_jar(tmp_path)
    options = beam_options(RunnerChoice("flink", flink_master="jm:8081",
                                        worker_pool="localhost:50000", checkpoint_s=5),
                           data_dir)
    assert f"--flink_job_server_jar={flink_job_server_jar(data_dir)}" in options
    assert {"--flink_master=jm:8081", "--environment_type=EXTERNAL",
            "--environment_config=localhost:50000", "--checkpointing_interval=5000"} <= set(options)


def test_parallelism_is_flinks_copies_and_python_processes_alike(tmp_path: Path) -> None:
    options = beam_options(RunnerChoice("flink", worker_pool="localhost:50000", parallelism=2),
                           _with_flink_jar(tmp_path))
    assert {"--parallelism=2", f"--sdk_worker_parallelism={2 * FLINK_STAGES}"} <= set(options)


def test_parallelism_is_refused_where_the_job_runs_in_one_process(tmp_path: Path) -> None:
    for runner in ("local", "prism", "DataflowRunner"):
        with pytest.raises(RunnerUnavailable, match="--parallelism 2 needs --runner flink"):
            beam_options(RunnerChoice(runner, parallelism=2), tmp_path)
    with pytest.raises(RunnerUnavailable, match="must be 1 or more"):
        beam_options(RunnerChoice("local", parallelism=0), tmp_path)


def test_other_beam_runners_are_passed_on(tmp_path: Path) -> None:
    assert beam_options(RunnerChoice("DataflowRunner"), tmp_path) == [
        "--streaming", "--runner=DataflowRunner"]


def _with_flink_jar(data_dir: Path) -> Path:
    jar = flink_job_server_jar(data_dir)
    jar.parent.mkdir(parents=True)
    jar.touch()
    return data_dir


