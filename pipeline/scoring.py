"""The scoring contract between the stream job and the sentiment models, and how a model is found.

The job knows nothing about a model beyond :class:`Scorer`: it encodes each cleaned, segmented
comment into the model's input, runs ``RunInference(KeyedModelHandler(scorer.model_handler()))``
on ``(comment, input)`` pairs and reads P(negative) from each result. Which scorer runs is a
setting (``YUQING_MODEL``): a name registered under the ``yuqing.scorers`` entry-point group
(``lstm`` and ``bert`` ship with Yuqing; see ``pyproject.toml``), or ``package.module:Class`` for
a scorer of your own. So the runtime never imports model code by name, and a new model is a
plugin rather than an edit here.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.config import Settings
from pipeline.errors import UnknownScorer

if TYPE_CHECKING:  # Beam's types only: the CLI imports this module and must start fast
    from apache_beam.ml.inference.base import ModelHandler, PredictionResult

ENTRY_POINT_GROUP = "yuqing.scorers"


class Scorer(Protocol):
    """What a sentiment model offers the pipeline, `yuqing score` and the evaluation."""

    name: str
    version: str
    input_type: type  # what ``encode`` returns, so that Beam picks a coder for it

    def encode(self, text: str, tokens: list[str]) -> Any: ...

    def model_handler(self) -> ModelHandler: ...

    def negative_probability(self, result: PredictionResult) -> float: ...


class ScorerFactory(Protocol):
    """A scorer class: built from the settings, which also say where its artifact is."""

    def from_settings(self, settings: Settings) -> Scorer: ...


def available_scorers() -> list[str]:
    return sorted(point.name for point in entry_points(group=ENTRY_POINT_GROUP))


def scorer_factory(name: str) -> ScorerFactory:
    """The scorer class registered as ``name``, or the ``module:Class`` it spells out."""
    if ":" in name:
        module, _, attribute = name.partition(":")
        return getattr(import_module(module), attribute)
    for point in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return point.load()
    raise UnknownScorer(f"no scorer named {name!r}; installed: {', '.join(available_scorers())} "
                        "(or give package.module:Class)")


def load_scorer(settings: Settings) -> Scorer:
    """The scorer ``settings.model`` names, loaded from ``settings.model_path`` or its default."""
    return scorer_factory(settings.model).from_settings(settings)
