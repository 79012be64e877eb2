"""``yuqing`` in a fresh process, as the crawl tests run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline.config import Settings


def yuqing(settings: Settings, *args: str, extra_env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process: Twisted's reactor cannot restart inside pytest's.

    ``extra_env`` adds variables for settings beyond the broker and topics, which come from
    ``settings``.
    """
    env = os.environ | {
        "YUQING_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "YUQING_KAFKA_TIMEOUT_S": str(settings.kafka_timeout_s),
        "YUQING_TOPIC_COMMENTS": settings.topic_comments,
        "YUQING_TOPIC_DEAD_LETTERS": settings.topic_dead_letters,
    } | (extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
