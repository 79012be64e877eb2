"""The benchmarks run on the tiny LSTM artifact the model tests use."""

from tests.models.conftest import tiny_artifact

__all__ = ["tiny_artifact"]
