"""A bench's temporary work directory: removed when the bench passed, kept and named when it
did not, so the logs of whatever went wrong are still there to read."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)


class BenchDir:
    """``with BenchDir("yuqing-faults-") as work:`` … ``work.passed = …``; an exception, or a
    bench that never set ``passed``, keeps the directory."""

    def __init__(self, prefix: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self.passed = False

    def __enter__(self) -> BenchDir:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.passed and error is None:
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            log.warning("logs kept in %s", self.path)
