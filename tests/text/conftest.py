"""The real corrector, loaded once per test session (its LM is built on first use, ~1 min)."""

from __future__ import annotations

import pytest

from pipeline.text.correct import Corrector


@pytest.fixture(scope="session")
def corrector() -> Corrector:
    return Corrector.load()
