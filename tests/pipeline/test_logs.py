"""What an operator sees on stderr: our INFO lines, no start-up noise from jieba or Beam.

Each case runs in a child Python: logging is process-wide state, and the noise comes from
imports that happen once per process.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.utils.paths import REPO_ROOT

CONFIGURE = "from pipeline.logs import configure_logging; configure_logging({verbose})\n"
SEGMENT_AND_IMPORT_BEAM = """
import logging
import jieba
assert jieba.lcut("今天天气很好")
from apache_beam.ml.inference.base import RunInference
logging.getLogger("pipeline.stream").info("our line")
logging.getLogger("kafka.conn").info("library line")
"""


def stderr_of(script: str) -> str:
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.parametrize("jieba_first", [False, True], ids=["configured-first", "jieba-first"])
def test_quiet_by_default(jieba_first: bool) -> None:
    configure = CONFIGURE.format(verbose=False)
    script = ("import jieba\n" + configure if jieba_first else configure) + SEGMENT_AND_IMPORT_BEAM

    stderr = stderr_of(script)

    assert "prefix dict" not in stderr
    assert "apitools" not in stderr
    assert "library line" not in stderr
    assert stderr.count("our line") == 1
    assert "INFO pipeline.stream: our line" in stderr


def test_verbose_shows_library_debug_lines_once() -> None:
    stderr = stderr_of(CONFIGURE.format(verbose=True) + SEGMENT_AND_IMPORT_BEAM)

    assert stderr.count("Building prefix dict from the default dictionary") == 1
    assert "library line" in stderr
    assert "our line" in stderr
