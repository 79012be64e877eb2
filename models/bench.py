"""Scoring throughput through Beam's RunInference, text stage included, on the local runner.

Measures what the streaming job pays per comment after the Kafka read: cleaning, jieba
segmentation, encoding, batching, padding and the model. Comments are generated inside the
pipeline from the test split (never thousands of ``beam.Create`` elements), and the one-worker
FnApiRunner matches how the job runs locally.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import torch
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from models.data import load_examples
from models.handlers import beam_device, load_scorer
from pipeline.config import Settings
from pipeline.text.clean import TextRejected, clean
from pipeline.text.segment import Segmenter


class Prepare(beam.DoFn):
    """Clean and segment like the pipeline's text stage; jieba loads once per worker."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def setup(self) -> None:
        self._segmenter = Segmenter(self._settings.keywords)

    def process(self, element: tuple[int, str]) -> Iterator[tuple[int, str, list[str]]]:
        key, text = element
        try:
            cleaned = clean(text, max_chars=self._settings.max_text_chars)
        except TextRejected:
            return
        yield key, cleaned, self._segmenter.cut(cleaned)


def stage_rates(settings: Settings, texts: list[str]) -> dict[str, float]:
    """Comments/s of segmentation and of the model alone, outside Beam, to show the bottleneck."""
    scorer = load_scorer(settings)
    segmenter = Segmenter(settings.keywords)
    handler = scorer.model_handler()
    model = handler.load_model()
    cleaned = []
    for text in texts:
        with contextlib.suppress(TextRejected):
            cleaned.append(clean(text, max_chars=settings.max_text_chars))
    started = time.perf_counter()
    tokens = [segmenter.cut(text) for text in cleaned]
    segmented = time.perf_counter()
    encoded = [scorer.encode(text, words) for text, words in zip(cleaned, tokens, strict=True)]
    for start in range(0, len(encoded), settings.batch_size):
        handler.run_inference(encoded[start : start + settings.batch_size], model)
    scored = time.perf_counter()
    return {"segment_per_s": round(len(cleaned) / (segmented - started), 1),
            "model_per_s": round(len(cleaned) / (scored - segmented), 1)}


def bench_score(settings: Settings, comments: int = 20_000) -> dict[str, Any]:
    """Score ``comments`` test texts (cycled) and return comments/s over the whole run."""
    torch.set_num_threads(1)
    scorer = load_scorer(settings)
    texts = [example.text for example in load_examples("test")]
    scored = Metrics.counter("bench", "scored")

    def read_negative(key: int, result: Any) -> float:
        scored.inc()
        return scorer.negative_probability(result)

    options = PipelineOptions(runner="FnApiRunner", direct_num_workers=1)
    pipeline = beam.Pipeline(options=options)
    _ = (
        pipeline
        | "Start" >> beam.Create([comments])
        | "Generate" >> beam.FlatMap(lambda n: ((i, texts[i % len(texts)]) for i in range(n)))
        | "Prepare" >> beam.ParDo(Prepare(settings))
        | "Encode" >> beam.MapTuple(lambda key, text, tokens: (key, scorer.encode(text, tokens)))
        | "Score" >> RunInference(KeyedModelHandler(scorer.model_handler()))
        | "ReadNegative" >> beam.MapTuple(read_negative)
    )
    started = time.perf_counter()
    result = pipeline.run()
    result.wait_until_finish()
    seconds = time.perf_counter() - started
    counters = result.metrics().query(MetricsFilter().with_name("scored"))["counters"]
    count = sum(counter.committed for counter in counters)
    return {
        "model": scorer.name,
        "version": scorer.version,
        "comments": count,
        "seconds": round(seconds, 2),
        "comments_per_s": round(count / seconds, 1),
        "device": beam_device(settings.device).lower(),
        "threads": 1,
        "batch_size": settings.batch_size,
        **stage_rates(settings, texts),
    }
