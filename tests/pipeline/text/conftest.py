"""The real corrector over the LM artifact `make test` builds (`yuqing build corrector-lm`)."""

from __future__ import annotations

import pytest

from pipeline.config import Settings
from pipeline.text.correct import Corrector
from pipeline.text.resources import lm_dir


@pytest.fixture(scope="session")
def corrector() -> Corrector:
    return Corrector.load(lm_dir(Settings()))
