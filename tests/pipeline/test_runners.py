"""The runner choice: short names, cached binaries and jars, and one-line refusals."""

from __future__ import annotations

import re
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import fn_runner

from pipeline.runners import (
    FLINK_JOB_SERVER_BEAM,
    FLINK_MINOR,
    FLINK_STAGES,
    LOCAL_OPTIONS,
    RunnerChoice,
    RunnerUnavailable,
    beam_options,
    flink_job_server_jar,
    fold_local_metrics_per_bundle,
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




class _Positions(beam.transforms.core.RestrictionProvider):
    def initial_restriction(self, element: int) -> OffsetRange:
        return OffsetRange(0, element)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element: int, restriction: OffsetRange) -> int:
        return restriction.size()


class _OnePerBundle(beam.DoFn):
    """Counts one position per bundle and defers the rest, as the Kafka reader ends each round:
    a stream of many small bundles of one stage."""

    def process(self, element: int,
                tracker: OffsetRestrictionTracker = beam.DoFn.RestrictionParam(_Positions())
                ) -> list[None]:
        if tracker.try_claim(tracker.current_restriction().start):
            Metrics.counter("test", "positions").inc()
            tracker.defer_remainder()
        return []


def test_the_local_runner_keeps_one_set_of_metrics_however_many_bundles_a_stage_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Put Beam's own back after the test, whatever the order tests run in.
    monkeypatch.setattr(fn_runner, "consolidate_monitoring_infos",
                        fn_runner.consolidate_monitoring_infos)
    fold_local_metrics_per_bundle()
    bundles = 1_200  # unfolded, about 1,000 is where reading the metrics fails
    pipeline = beam.Pipeline(options=PipelineOptions(LOCAL_OPTIONS))
    _ = pipeline | beam.Create([bundles]) | beam.ParDo(_OnePerBundle())

    result = pipeline.run()
    result.wait_until_finish()

    (counter,) = result.metrics().query(MetricsFilter().with_name("positions"))["counters"]
    assert counter.committed == bundles
