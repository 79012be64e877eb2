"""The streaming job, one comment's path from Kafka to the store.

ReadComments → Parse → CleanCorrectSegment → Encode → Score → Decide → WriteAlerts; from Decide
also FindSurges → WriteSurges (:mod:`pipeline.stream.surges`); and beside it ReadDeadLetters,
which stores the crawler's dead letters with the job's own, so that every dead letter is
queryable in one table.

App flags are parsed here, the runner's among them (:mod:`pipeline.runners`: ``--runner local``,
``prism`` or ``flink``); every other flag goes to Beam's ``PipelineOptions`` unchanged, after the
runner's, so an operator's own Beam flag wins. The scorer is whatever the settings name
(:mod:`pipeline.scoring`).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import time
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.alerts import Prepared
from pipeline.config import Settings
from pipeline.kafka import check_broker
from pipeline.runners import (
    DEFAULT_CHECKPOINT_S,
    FLINK_LOCAL,
    RunnerChoice,
    beam_options,
    fold_local_metrics_per_bundle,
    short_name,
)
from pipeline.scoring import Scorer, load_scorer
from pipeline.store.engine import check_store, display_url, make_engine
from pipeline.stream import shutdown
from pipeline.stream.sink import StoreRetry, write_alerts, write_dead_letters, write_surges
from pipeline.stream.source import SIDE_TOPIC_POLL_MS, ReadComments
from pipeline.stream.surges import FindSurges, SurgeParams
from pipeline.stream.transforms import (
    DEAD,
    Decide,
    Encode,
    ParseRecord,
    failed_inference_letters,
    prepared,
    read_dead_letter,
    rejected_letter,
)
from pipeline.text.beam import REJECTED, ProcessText
from pipeline.text.resources import lm_dir, read_card

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class RunSummary:
    read: int
    scored: int
    alerts: int
    dead_letters: int
    surges: int
    seconds: float


def build(pipeline: beam.Pipeline, settings: Settings, scorer: Scorer,
          idle_stop_s: float | None) -> None:
    """Wire the steps onto ``pipeline``."""
    messages = pipeline | "ReadComments" >> ReadComments(settings, settings.topic_comments,
                                                         idle_stop_s)
    parsed = messages | "Parse" >> beam.ParDo(ParseRecord()).with_outputs(DEAD, main="ok")
    text = (
        parsed.ok
        | "KeyByRecord" >> beam.Map(lambda comment: (comment, comment.record.text))
        | "CleanCorrectSegment" >> ProcessText(settings)
    )
    encoded = (
        text.processed
        | "Prepared" >> beam.Map(prepared)
        | "Encode" >> beam.ParDo(Encode(scorer.encode))
        .with_output_types(tuple[Prepared, scorer.input_type])  # a coder for the model's input
        .with_outputs(DEAD, main="ok")
    )
    scored, failed = encoded.ok | "Score" >> RunInference(
        KeyedModelHandler(scorer.model_handler())).with_exception_handling()
    decided = scored | "Decide" >> beam.ParDo(Decide(
        scorer.name, scorer.version, settings.thresholds, scorer.negative_probability)
    ).with_outputs(DEAD, main="alerts")
    retry = StoreRetry.from_settings(settings)
    _ = decided.alerts | "WriteAlerts" >> beam.ParDo(write_alerts(settings.database_url, retry))
    _ = (decided.alerts
         | "FindSurges" >> FindSurges(SurgeParams.from_settings(settings))
         | "WriteSurges" >> beam.ParDo(write_surges(settings.database_url, retry)))
    crawl_letters = (
        pipeline
        | "ReadDeadLetters" >> ReadComments(settings, settings.topic_dead_letters, idle_stop_s,
                                            poll_timeout_ms=SIDE_TOPIC_POLL_MS)
        | "ParseDeadLetters" >> beam.Map(read_dead_letter)
    )
    # One writer per dead-letter output rather than a Flatten: it keeps every step fused into
    # its reading stage, so offsets are committed only after these writes.
    letters = {
        "Crawl": crawl_letters,
        "Parse": parsed[DEAD],
        "Text": text[REJECTED] | "RejectedLetters" >> beam.Map(rejected_letter),
        "Encode": encoded[DEAD],
        "Score": failed.failed_inferences | "SplitFailedBatches" >> beam.FlatMap(
            failed_inference_letters),
        "Decide": decided[DEAD],
    }
    for stage, pcoll in letters.items():
        _ = pcoll | f"WriteDeadLetters{stage}" >> beam.ParDo(write_dead_letters(
            settings.database_url, retry))


def parse_known_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    parser.add_argument("--until-idle", type=float, default=None, metavar="SECONDS",
                        help="stop once every partition has been idle this long; time the "
                        "broker is down does not count")
    parser.add_argument("--runner", default="local",
                        help="local, prism or flink (or a Beam runner class, passed on)")
    parser.add_argument("--flink-master", default=FLINK_LOCAL, metavar="HOST:PORT",
                        help="the Flink cluster's REST address; [local] starts an embedded one")
    parser.add_argument("--worker-pool", default=None, metavar="HOST:PORT",
                        help="a Beam Python worker pool for the Flink task managers")
    parser.add_argument("--parallelism", type=int, default=1, metavar="N",
                        help="Flink only: N copies of every step, sharing the topic's "
                        "partitions (never more than the topic has); with --worker-pool, a "
                        "Python worker for each stage copy")
    parser.add_argument("--checkpoint-interval", type=float, default=DEFAULT_CHECKPOINT_S,
                        metavar="SECONDS", help="Flink's checkpoint interval; offsets are "
                        "committed after each checkpoint")
    return parser.parse_known_args(argv)


def runner_choice(known: argparse.Namespace) -> RunnerChoice:
    return RunnerChoice(runner=known.runner, flink_master=known.flink_master,
                        worker_pool=known.worker_pool, checkpoint_s=known.checkpoint_interval,
                        until_idle=known.until_idle is not None, parallelism=known.parallelism)


def preflight(settings: Settings) -> Scorer:
    """Refuse to start, in one line, on what would otherwise fail in every worker: no broker, a
    store that cannot be reached or has an old schema, a missing model or corrector artifact."""
    engine = make_engine(settings.database_url)
    try:
        check_store(engine)
    finally:
        engine.dispose()
    check_broker(settings)
    if settings.correct_text:
        read_card(lm_dir(settings))
    return load_scorer(settings)


def run(argv: list[str] | None = None, settings: Settings | None = None) -> RunSummary:
    """Run the job; returns when it has drained (``--until-idle``) or is cancelled."""
    known, beam_args = parse_known_args(argv)
    settings = settings or Settings()
    runner_flags = beam_options(runner_choice(known), settings.data_dir)
    scorer = preflight(settings)
    if short_name(known.runner) == "local":
        fold_local_metrics_per_bundle()
    options = PipelineOptions(runner_flags + beam_args)
    started = time.monotonic()
    pipeline = beam.Pipeline(options=options)
    build(pipeline, settings, scorer, known.until_idle)
    log.info("job starting: runner %s, model %s %s, alert threshold %s, store %s",
             known.runner, scorer.name, scorer.version, settings.thresholds.describe(),
             display_url(settings.database_url))
    # Only readers in this process hear a stop request; a Flink job runs in the cluster.
    stopping = (shutdown.stop_on_signals() if short_name(known.runner) in ("local", "prism")
                else contextlib.nullcontext())
    with stopping:
        result = pipeline.run()
        result.wait_until_finish()
    summary = RunSummary(seconds=round(time.monotonic() - started, 1),
                         **{name: _counter(result, name)
                            for name in ("read", "scored", "alerts", "dead_letters", "surges")})
    log.info("pipeline finished: %s", summary)
    return summary


def _counter(result: beam.runners.runner.PipelineResult, name: str) -> int:
    """A counter summed over every step that adds to it: ``dead_letters`` counts the dead-letter
    writers' letters and those the alert writer keeps for rows the store refused alike."""
    counters = result.metrics().query(MetricsFilter().with_namespace("yuqing").with_name(name))
    return sum(item.committed or 0 for item in counters["counters"])


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(run())
