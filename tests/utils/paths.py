"""Where the checkout is, and what `make test` builds into it: tests read its Makefile, poms and
manifests, run from its root, and use the binaries, jars and schemas its make targets fetch."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def built_by_make(path: Path, target: str) -> Path:
    """``path``; the test is skipped when it is missing, except in CI (``CI`` set), where `make
    test` builds it first and a missing one is a failure."""
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{path} missing; `{target}` should have built it")
        pytest.skip(f"{path} missing (`{target}`)")
    return path
