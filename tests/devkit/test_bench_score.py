"""The scoring benchmark runs the real Beam steps and counts every comment it scored."""

from __future__ import annotations

from pathlib import Path

from devkit.bench.score import bench_score
from pipeline.config import Settings


def test_bench_scores_every_generated_comment(tiny_artifact: Path) -> None:
    settings = Settings(model_path=tiny_artifact, device="cpu", batch_size=32)
    report = bench_score(settings, comments=300)
    assert report["comments"] == 300
    assert report["comments_per_s"] > 0
    assert (report["device"], report["batch_size"], report["version"]) == (
        "cpu", 32, "lstm-0.0.0-test")
    assert report["text_stage_per_s"] > 0 and report["model_per_s"] > 0
