"""``yuqing bench text``: SIGHAN-15 quality, speed on one core, and the downstream effect.

Three systems are scored on the same 707 SIGHAN-15 sentence pairs that ship with pycorrector, in
one run: doing nothing, pycorrector's own ``Corrector`` on the best offline LM (see
:mod:`devkit.bench.baseline`), and our corrector. Speed is measured on one pinned core over
test-split reviews of 30–60 characters, batched as the pipeline batches them and one at a time.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from devkit.bench.baseline import pycorrector_baseline
from devkit.bench.downstream import typo_accuracy
from devkit.bench.metrics import SentenceMetrics, sentence_metrics
from models.data import load_examples
from pipeline.config import Settings
from pipeline.text.correct import Corrector
from pipeline.text.resources import lm_dir, package_file

log = logging.getLogger(__name__)
BATCH = 256


def sighan_pairs() -> list[tuple[str, str]]:
    """(source, reference) pairs; pycorrector's copy is already in simplified characters."""
    path = package_file("pycorrector", "data", "sighan2015_test.tsv")
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    return [(row[0], row[1]) for row in rows if len(row) == 2 and not row[0].startswith("#")]


def evaluate(correct: Callable[[list[str]], list[str]], pairs: Sequence[tuple[str, str]]) -> dict:
    sources, targets = [s for s, _ in pairs], [t for _, t in pairs]
    started = time.perf_counter()
    predictions = correct(sources)
    elapsed = time.perf_counter() - started
    metrics: SentenceMetrics = sentence_metrics(sources, targets, predictions)
    return metrics.as_dict() | {"sentences_per_s": round(len(sources) / elapsed, 1)}


@contextmanager
def one_core() -> Iterator[None]:
    """Pin the process to one core so a speed figure means "per core" on any machine."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, cores)


def speed_texts(limit: int = 2000) -> list[str]:
    """Test-split reviews of 30–60 characters: the typical comment the pipeline sees."""
    texts = [e.text for e in load_examples("test") if 30 <= len(e.text) <= 60]
    return texts[:limit]


def speed(corrector: Corrector, texts: Sequence[str]) -> dict[str, float]:
    with one_core():
        started = time.perf_counter()
        for start in range(0, len(texts), BATCH):
            corrector.correct_batch(texts[start : start + BATCH])
        batched = len(texts) / (time.perf_counter() - started)
        single = texts[:500]
        started = time.perf_counter()
        for text in single:
            corrector.correct(text)
        unbatched = len(single) / (time.perf_counter() - started)
    return {
        "sentences_per_s": round(batched, 1),
        "sentences_per_s_unbatched": round(unbatched, 1),
        "speed_texts": len(texts),
        "speed_mean_chars": round(sum(map(len, texts)) / len(texts), 1),
    }


def run(settings: Settings, *, baseline: bool = True, downstream: bool = True) -> dict[str, Any]:
    """Every figure of the text-stage benchmark, as one flat-ish JSON-able dict."""
    corrector = Corrector.load(lm_dir(settings))
    pairs = sighan_pairs()
    ours = evaluate(lambda texts: [r.text for r in corrector.correct_batch(texts)], pairs)
    result: dict[str, Any] = {
        **{key: ours[key] for key in ("f1", "precision", "recall", "fpr")},
        "detection_f1": ours["detection_f1"],
        "sighan": {"ours": ours, "none": evaluate(list, pairs) | {"sentences_per_s": None}},
    }
    log.info("ours on SIGHAN-15: %s", ours)
    result |= speed(corrector, speed_texts())
    if baseline:
        log.info("running pycorrector's Corrector on our LM (about a second per sentence)")
        pyc = pycorrector_baseline(lm_dir(settings))
        result["sighan"]["pycorrector"] = evaluate(
            lambda texts: [pyc.correct(text)["target"] for text in texts], pairs
        )
        log.info("pycorrector baseline: %s", result["sighan"]["pycorrector"])
        result["baseline_f1"] = result["sighan"]["pycorrector"]["f1"]
        result["baseline_fpr"] = result["sighan"]["pycorrector"]["fpr"]
    if downstream:
        result["downstream"] = _downstream(settings, corrector)
    return result


def _downstream(settings: Settings, corrector: Corrector) -> dict[str, Any]:
    """The sentiment model is trained elsewhere and may be missing or mid-change; say so in the
    report instead of losing the SIGHAN figures to its traceback."""
    try:
        return typo_accuracy(settings, corrector)
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        log.warning("downstream benchmark skipped: %s", error)
        return {"error": f"{type(error).__name__}: {str(error)[:200]}"}
