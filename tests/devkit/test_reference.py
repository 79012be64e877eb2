"""The benches' reference: it labels as the job does, or refuses to pretend it can."""

from __future__ import annotations

import pytest

from devkit.bench.reference import Oracle
from pipeline.config import Settings
from pipeline.errors import OperatorError


def test_per_source_thresholds_are_refused_rather_than_checked_at_the_wrong_one() -> None:
    with pytest.raises(OperatorError, match="YUQING_SOURCE_THRESHOLDS is set"):
        Oracle(Settings(source_thresholds={"test-shop": 0.9}))
