"""What correction is worth to the sentiment model: accuracy on typo-ridden reviews.

The held-out test reviews get homophone typos at a fixed rate (seeded), as spam and
filter-dodging comments do; the current model scores the clean texts, the typo texts, and the
typo texts after correction. The LM never saw these reviews (see :mod:`models.corrector.corpus`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from models.corrector.noise import with_homophones
from models.data import load_examples
from models.predict import Predictor
from pipeline.config import Settings
from pipeline.records import EVEN_ODDS, label_for
from pipeline.text.correct import Corrector
from pipeline.text.resources import confusion_sets


def _accuracy(predictor: Predictor, texts: Sequence[str], labels: Sequence[int]) -> float:
    scored = list(predictor.score(texts))
    hits = sum(
        s.score is not None and label_for(s.score, EVEN_ODDS).index == label
        for s, label in zip(scored, labels, strict=True)
    )
    return hits / len(labels)


def typo_accuracy(
    settings: Settings, corrector: Corrector, rate: float = 0.1, seed: int = 0
) -> dict[str, float | str]:
    """Accuracy of the configured model on clean, typo and corrected test reviews."""
    examples = load_examples("test")
    rng, confusions = random.Random(seed), confusion_sets()
    clean_texts = [example.text for example in examples]
    typo_texts = [with_homophones(text, rate, rng, confusions) for text in clean_texts]
    corrected = [result.text for result in corrector.correct_batch(typo_texts)]
    labels = [example.label for example in examples]
    # The predictor must not correct on its own: the "typos" arm measures uncorrected text.
    predictor = Predictor(settings.model_copy(update={"correct_text": False}))
    return {
        "model": predictor.scorer.version,
        "reviews": len(examples),
        "typo_rate": rate,
        "accuracy_clean": round(_accuracy(predictor, clean_texts, labels), 4),
        "accuracy_typos": round(_accuracy(predictor, typo_texts, labels), 4),
        "accuracy_corrected": round(_accuracy(predictor, corrected, labels), 4),
        "typo_reviews_restored": round(_restored(clean_texts, typo_texts, corrected), 4),
    }


def _restored(clean: Sequence[str], typos: Sequence[str], corrected: Sequence[str]) -> float:
    """Share of the reviews that got typos which the corrector turned back exactly."""
    damaged = [(c, f) for c, t, f in zip(clean, typos, corrected, strict=True) if t != c]
    return sum(c == f for c, f in damaged) / max(len(damaged), 1)
