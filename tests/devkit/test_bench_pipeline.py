"""`yuqing bench pipeline` at a tiny size, on the session's Apache Kafka broker: the job runs for
real as a child process, once draining a backlog (on the local runner, and on Flink with a worker
pool) and once under a stream at a fixed rate, so the figures in docs/benchmarks.md come from a
bench that works and whose alerts are the reference's.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from devkit.bench.pipeline import PipelineBenchError, Plan, run, run_on, table
from pipeline.config import Settings
from pipeline.kafka_server import KafkaServer, libs_dir
from pipeline.runners import flink_job_server_jar
from tests.utils.paths import built_by_make

DRAIN = {"comments", "produce_s", "startup_s", "committed_first", "seconds", "per_second",
         "steady_per_second", "cpu_ms_per_comment", "steady_cpu_ms_per_comment", "cpu_s",
         "peak_rss_mib", "rss", "stop", "worker_cpu_s"}
STREAMING = {"rate", "comments", "warmup", "produce_s", "produced_per_s", "latency_s",
             "alert_latency_s", "lag_at_end", "behind_s", "catch_up_s", "kept_up",
             "cpu_ms_per_comment", "cpu_s", "peak_rss_mib", "rss", "stop", "worker_cpu_s"}
STAGES = {"text_per_s", "model_per_s", "model_outside_beam_per_s", "store_per_s", "model",
          "model_version", "batch_size", "slowest", "slowest_per_s"}


@pytest.fixture
def settings(apache_kafka: KafkaServer, kafka_libs: Path) -> Settings:
    # The checkout's var/: the jars and the corrector's LM, as `make test` left them.
    return Settings(data_dir=kafka_libs.parents[2], kafka_timeout_s=10,
                    kafka_bootstrap=apache_kafka.bootstrap)


def _last_line(result: dict) -> dict:
    """What the command prints last, read back as a script would."""
    return json.loads(json.dumps(result, ensure_ascii=False))


@pytest.mark.integration
@pytest.mark.slow
def test_a_drain_measures_the_job_and_each_stage(settings: Settings, tmp_path: Path) -> None:
    result = _last_line(run_on(settings, Plan(comments=300), tmp_path))

    assert result["ok"] and result["mode"] == "drain"
    assert result["alerts"]["match"] and result["alerts"]["expected"] > 0
    drained = result["drain"]
    assert set(drained) == DRAIN
    assert drained["comments"] == 300 and drained["seconds"] >= drained["startup_s"] > 0
    assert drained["per_second"] > 0 and drained["cpu_ms_per_comment"] > 0
    assert drained["peak_rss_mib"] >= max(point["rss_mib"] for point in drained["rss"]) > 0
    assert drained["rss"][-1]["comments"] == 300
    assert drained["stop"] == drained["stop"] | {"exit": 0, "stopped_by_sigint": True,
                                                 "clean": True}
    stages = result["stages"]
    assert set(stages) == STAGES
    rates = {name: stages[f"{name}_per_s"] for name in ("text", "model", "store")}
    assert min(rates.values()) > 0
    assert stages["slowest_per_s"] == rates[stages["slowest"]] == min(rates.values())
    assert result["ratio_with_startup"] == pytest.approx(
        drained["per_second"] / stages["slowest_per_s"], abs=1e-3)
    assert "| alerts = reference | yes (" in table(result)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.bench
def test_a_drain_on_flink_counts_the_worker_pool_and_names_each_workers_cpu(
        settings: Settings, tmp_path: Path) -> None:
    built_by_make(flink_job_server_jar(settings.data_dir), "make flink-job-server")
    plan = Plan(comments=300, stages=False, runner="flink", parallelism=2, partitions=4)
    result = _last_line(run_on(settings, plan, tmp_path))

    assert result["ok"] and result["partitions"] == 4
    assert result["plan"]["runner"] == "flink" and result["plan"]["parallelism"] == 2
    drained = result["drain"]
    assert drained["rss"][-1]["comments"] == 300
    # One Python worker per stage copy: two copies of about four stages.
    workers = drained["worker_cpu_s"]
    assert len(workers) >= 4 and sum(workers) < drained["cpu_s"]
    assert "| CPU of each Python worker (s) |" in table(result)
    assert "| runner | flink, parallelism 2, Python steps in a worker pool |" in table(result)


@pytest.mark.integration
@pytest.mark.slow
def test_a_stream_at_a_fixed_rate_measures_latency(settings: Settings, tmp_path: Path) -> None:
    result = _last_line(run_on(settings, Plan(rate=50, duration_s=5, stages=False), tmp_path))

    assert result["ok"] and result["mode"] == "streaming" and "stages" not in result
    assert result["alerts"]["match"] and result["alerts"]["expected"] > 0
    streamed = result["streaming"]
    assert set(streamed) == STREAMING
    assert (streamed["comments"], streamed["warmup"]) == (250, 100)
    assert streamed["produced_per_s"] == pytest.approx(50, rel=0.1)
    latency = streamed["latency_s"]
    assert latency["n"] == 250
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"] < 60
    assert 0 < streamed["alert_latency_s"]["n"] < 250
    assert streamed["lag_at_end"] >= 0 and streamed["cpu_ms_per_comment"] > 0
    assert streamed["peak_rss_mib"] > 0
    assert "| produce to stored, p95 (s) |" in table(result)


def test_missing_jars_or_java_are_one_line_before_anything_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    with pytest.raises(PipelineBenchError, match=r"not in .*; run `make kafka-jars`$"):
        run(Settings(data_dir=tmp_path), Plan())

    libs = libs_dir(tmp_path)
    libs.mkdir(parents=True)
    (libs / "kafka-clients.jar").touch()  # only looked for, never run
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PipelineBenchError, match=r"^java not found on PATH"):
        run(Settings(data_dir=tmp_path), Plan())
    assert not list(work.iterdir())  # no work directory, no broker
