"""Scoring throughput through Beam's RunInference on the local runner, tokenisation included.

Measures what the streaming job's scoring stage pays per comment: the model's own tokenisation
(``Scorer.encode``), batching, padding and the model. The text stage (clean, correct, segment)
runs before it in the pipeline as its own step; it is timed here too, outside Beam, and
reported beside the figure so that neither cost hides the other. Comments are generated inside
the pipeline from the test split (never thousands of ``beam.Create`` elements), and the
one-worker FnApiRunner matches how the job runs locally.
"""

from __future__ import annotations

import time
from typing import Any

import apache_beam as beam
import torch
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from models.data import load_examples
from models.handlers.tensor import beam_device
from pipeline.config import Settings
from pipeline.scoring import Scorer, load_scorer
from pipeline.text.clean import TextRejected
from pipeline.text.stage import TextStage

Prepared = tuple[str, list[str]]  # the text stage's output: normalised text and its words


def prepare(settings: Settings, texts: list[str]) -> tuple[list[Prepared], float]:
    """The text stage's output for ``texts`` (rejected ones left out), and its comments/s."""
    stage = TextStage.load(settings)
    started = time.perf_counter()
    processed = stage.process_batch(texts)
    seconds = time.perf_counter() - started
    prepared = [(p.text, list(p.tokens)) for p in processed if not isinstance(p, TextRejected)]
    return prepared, round(len(texts) / seconds, 1)


def model_rate(settings: Settings, scorer: Scorer, prepared: list[Prepared]) -> float:
    """Comments/s of tokenisation and the model alone, outside Beam, to show Beam's share."""
    handler = scorer.model_handler()
    model = handler.load_model()
    started = time.perf_counter()
    encoded = [scorer.encode(text, tokens) for text, tokens in prepared]
    for start in range(0, len(encoded), settings.batch_size):
        handler.run_inference(encoded[start : start + settings.batch_size], model)
    return round(len(prepared) / (time.perf_counter() - started), 1)


def bench_score(settings: Settings, comments: int = 20_000) -> dict[str, Any]:
    """Score ``comments`` test texts (cycled) and return comments/s over the whole run."""
    torch.set_num_threads(1)
    scorer = load_scorer(settings)
    prepared, text_stage_per_s = prepare(settings, [e.text for e in load_examples("test")])
    scored = Metrics.counter("bench", "scored")

    def read_negative(key: int, result: Any) -> float:
        scored.inc()
        return scorer.negative_probability(result)

    # [] rather than the default sys.argv: the benchmark's own flags are not Beam's.
    options = PipelineOptions([], runner="FnApiRunner", direct_num_workers=1)
    pipeline = beam.Pipeline(options=options)
    _ = (
        pipeline
        | "Start" >> beam.Create([comments])
        | "Generate" >> beam.FlatMap(lambda n: ((i, prepared[i % len(prepared)])
                                                for i in range(n)))
        | "Encode" >> beam.MapTuple(lambda key, item: (key, scorer.encode(*item)))
        .with_output_types(tuple[int, scorer.input_type])
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
        "model_per_s": model_rate(settings, scorer, prepared),
        "text_stage_per_s": text_stage_per_s,
    }
