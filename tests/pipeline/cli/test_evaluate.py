"""``yuqing score`` labels a comment as the job would, per-source threshold included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def score(*args: str, **env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    done = subprocess.run([sys.executable, "-m", "pipeline", "score", *args], env=clean | env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    row: dict[str, object] = json.loads(done.stdout)
    return row


def test_score_labels_at_the_threshold_of_the_source_it_is_told() -> None:
    text = "快递三天才到，包装也破了"
    plain = score("--text", text, YUQING_SOURCE_THRESHOLDS='{"weibo": 1.0}')
    strict = score("--text", text, "--source", "weibo", YUQING_SOURCE_THRESHOLDS='{"weibo": 1.0}')
    assert plain["threshold"] == 0.7 and strict["threshold"] == 1.0
    assert plain["score"] == strict["score"]
    assert strict["label"] == "positive"
    assert plain["label"] == ("negative" if float(plain["score"]) >= 0.7 else "positive")
