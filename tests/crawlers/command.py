"""``yuqing`` in a fresh process, as the crawl tests run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devkit.child import child_env
from pipeline.config import Settings


def yuqing(settings: Settings, *args: str, extra_env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process: Twisted's reactor cannot restart inside pytest's.

    ``extra_env`` adds variables for settings beyond those that come from ``settings``.
    """
    env = child_env(settings) | (extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
