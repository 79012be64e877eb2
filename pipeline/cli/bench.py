"""``yuqing bench …``: reproducible benchmarks (development code in ``devkit.bench``)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from pipeline.cli.options import Model, ModelPath

app = typer.Typer(help="Reproducible benchmarks; each prints a JSON object last.",
                  no_args_is_help=True)


@app.command("score")
def bench_score(
    model: Model = None,
    model_path: ModelPath = None,
    comments: Annotated[int, typer.Option(min=1, help="Comments to score (test texts, cycled).")]
    = 20_000,
    batch_size: Annotated[int | None, typer.Option(
        min=1, help="RunInference batch size (default: YUQING_BATCH_SIZE).")] = None,
) -> None:
    """Comments/s through RunInference on one worker and one torch thread, tokenisation included.

    The text stage before scoring (clean, correct, segment) is timed separately and reported as
    text_stage_per_s. The last line is one JSON object with comments_per_s, device and
    batch_size.
    """

    from devkit.bench.score import bench_score as run_bench
    from models.predict import settings_for
    from pipeline.config import get_settings

    settings = settings_for(get_settings(), model, model_path)
    if batch_size is not None:
        settings = settings.model_copy(update={"batch_size": batch_size})
    typer.echo(json.dumps(run_bench(settings, comments)))


@app.command("text")
def bench_text(
    baseline: Annotated[bool, typer.Option(help="Also run pycorrector's Corrector (~2 min).")]
    = True,
    downstream: Annotated[bool, typer.Option(help="Also score typo reviews with the model.")]
    = True,
) -> None:
    """SIGHAN-15 sentence-level P/R/F1 and FPR, speed on one core, downstream accuracy.

    The last line is one JSON object with f1, precision, recall, fpr, sentences_per_s and the
    baseline figures.
    """

    from devkit.bench.text import run as run_bench
    from pipeline.config import get_settings

    typer.echo(json.dumps(run_bench(get_settings(), baseline=baseline, downstream=downstream),
                          ensure_ascii=False))


class FaultRow(StrEnum):
    """A row of the fault table."""

    kill = "kill"
    store = "store"
    broker = "broker"
    hostile = "hostile"


@app.command("faults")
def bench_faults(
    comments: Annotated[int, typer.Option(
        min=1, help="Comments behind the kill and store rows (test texts, cycled).")] = 20_000,
    kills: Annotated[int, typer.Option(min=1, help="SIGKILLs of the job in the kill row.")]
    = 15,
    outage_s: Annotated[float, typer.Option(
        min=1, help="Seconds PostgreSQL stays down in the store row.")] = 60.0,
    broker_kills: Annotated[int, typer.Option(
        min=1, help="SIGKILLs of Apache Kafka in the broker row (the first during the crawl).")]
    = 3,
    hostile: Annotated[int, typer.Option(
        min=1, help="Messages in the hostile row, one in ten hostile.")] = 10_000,
    only: Annotated[list[FaultRow] | None, typer.Option(
        help="Run only this row (repeatable).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random kill moments.")] = 0,
) -> None:
    """Loss and duplication under faults: the job killed, the store down, the broker killed,
    hostile input; each row on a real Apache Kafka broker with its own topic and store.

    Takes about 15 minutes at the default sizes on 2 cores; needs java and `make kafka-jars`,
    and PostgreSQL for the store row. Progress goes to stderr; stdout gets the Markdown table,
    then one JSON object. Exits 1 if any row lost or duplicated anything, left offsets
    uncommitted, or the job did not survive.
    """

    from devkit.bench.faults import ROWS, Sizes, table
    from devkit.bench.faults import run as run_bench
    from pipeline.config import get_settings

    rows = [row.value for row in only] if only else list(ROWS)
    result = run_bench(get_settings(), rows, Sizes(comments=comments, kills=kills,
                                                  outage_s=outage_s, broker_kills=broker_kills,
                                                  hostile=hostile, seed=seed))
    _report(result, table(result))


class RunnerName(StrEnum):
    """A runner `yuqing run --runner` sets up itself."""

    local = "local"
    prism = "prism"
    flink = "flink"


@app.command("runners")
def bench_runners(
    comments: Annotated[int, typer.Option(
        min=1, help="Comments each runner works through (test texts, cycled).")] = 3000,
    runner: Annotated[list[RunnerName] | None, typer.Option(
        help="Measure only this runner (repeatable).")] = None,
) -> None:
    """The same job on the same input on each Beam runner: local, Prism, embedded Flink.

    Each runner gets a fresh topic, group and store on one Apache Kafka broker; the time runs
    from the job's start to the consumer group having committed every offset, and the alerts
    are checked against the reference. Needs java, `make kafka-jars`, `make prism` and
    `make flink-job-server`; about 5 minutes at the default size on 2 cores. Progress goes to
    stderr; stdout gets the Markdown table, then one JSON object. Exits 1 if a runner stored
    other alerts than the reference.
    """

    from devkit.bench.runners import run as run_bench
    from devkit.bench.runners import table
    from pipeline.config import get_settings

    names = [name.value for name in runner] if runner else [name.value for name in RunnerName]
    result = run_bench(get_settings(), names, comments)
    _report(result, table(result))


@app.command("pipeline")
def bench_pipeline(
    comments: Annotated[int, typer.Option(
        min=1, help="Comments to drain (test texts, cycled); drain mode only.")] = 20_000,
    rate: Annotated[float | None, typer.Option(
        min=0.1, help="Streaming mode: produce this many comments/s while the job runs, and "
        "measure produce-to-stored latency.")] = None,
    duration: Annotated[float | None, typer.Option(
        min=1, help="Seconds to produce at --rate, after a warm-up of 2 s worth of comments "
        "[default: 60].")] = None,
    stages: Annotated[bool, typer.Option(
        help="Also time each stage alone on one core (text, model, store) after the job.")]
    = True,
    runner: Annotated[str, typer.Option(
        help="local, or flink: embedded Flink (`make flink-job-server`) with the Python steps "
        "in a worker pool the bench starts, as on a cluster.")] = "local",
    parallelism: Annotated[int, typer.Option(
        min=1, help="Flink: copies of every step (a Python worker for each stage copy).")] = 1,
    partitions: Annotated[int | None, typer.Option(
        min=1, help="Partitions of the bench's topic [default: YUQING_TOPIC_PARTITIONS, 3]; "
        "Flink places them on the copies by a hash, so several per copy share them more "
        "evenly.")] = None,
) -> None:
    """The whole job on a real Apache Kafka broker: drain rate, CPU per comment, peak RSS, and
    with --rate, produce-to-stored latency; beside each stage's solo rate.

    Scaling out: `--runner flink --parallelism 1 --partitions 4`, then `--parallelism 2`; CPU
    and RSS then include the Flink job server and the pool's workers, and the table names each
    worker's CPU.

    Drain mode (default): --comments are produced, then the job (`yuqing run`, local runner) is
    started; the time runs from its start, and from its first commit, to every offset committed.
    Streaming mode (--rate R --duration S): the job is warmed up, then R comments/s are
    produced for S s; latency is each comment's time from being sent to its row being written
    (p50/p95/p99), and the job kept up if under 2 s of input was uncommitted when production
    stopped. CPU (user + system) and RSS are those of the job's process and its children,
    sampled every 0.2 s. The stored alerts are checked against the reference. Then, unless
    --no-stages, the text stage (batches of 256), the model through RunInference and the store
    writes are each timed alone on one core on the same texts, and the end-to-end drain rate is
    divided by the slowest. Needs java and `make kafka-jars`; about 2 minutes at the default
    size on 2 cores. Progress goes to stderr; stdout gets the Markdown table, then one JSON
    object. Exits 1 if the stored alerts differ from the reference, or if the job on the
    local runner did not exit cleanly after its SIGINT (its log is then kept).
    """

    from dataclasses import replace

    from devkit.bench.pipeline import Plan, table
    from devkit.bench.pipeline import run as run_bench
    from pipeline.config import get_settings

    if duration is not None and rate is None:
        raise typer.BadParameter("needs --rate: a duration is for streaming mode",
                                 param_hint="--duration")
    plan = Plan(comments=comments, rate=rate, stages=stages, runner=runner,
                parallelism=parallelism, partitions=partitions)
    if duration is not None:
        plan = replace(plan, duration_s=duration)
    result = run_bench(get_settings(), plan)
    _report(result, table(result))


@app.command("kafka-read")
def bench_kafka_read(
    messages: Annotated[int, typer.Option(
        min=1, help="Small messages in the topic, over its partitions.")] = 100_000,
    reader: Annotated[list[str] | None, typer.Option(
        help="Measure only this reader: ours or kafkaio (repeatable).")] = None,
) -> None:
    """How fast Beam's own Kafka reader (KafkaIO through the cross-language ReadFromKafka) and
    ours read the same topic, on embedded Flink with checkpoints every second.

    Only reading is measured: a DoFn counts the messages. The time runs from submitting the
    pipeline to the last message counted. Needs java, `make kafka-jars` and `make kafka-io-jar`
    (the job server with KafkaIO, which also serves as its expansion service); about 3 minutes
    at the default size on 2 cores. Stdout gets the Markdown table, then one JSON object.
    Exits 1 if a reader did not read every message.
    """

    from devkit.bench.kafka_read import SOURCES, table
    from devkit.bench.kafka_read import run as run_bench
    from pipeline.config import get_settings

    result = run_bench(get_settings(), reader or list(SOURCES), messages)
    _report(result, table(result))


@app.command("crawl")
def bench_crawl(
    rounds: Annotated[int, typer.Option(
        min=1, help="Rounds, each a first crawl on a fresh store and a re-crawl.")] = 3,
    delay_s: Annotated[float, typer.Option(
        min=0, help="Seconds the demo site waits before each response (0: as fast as it can).")]
    = 0.0,
    comments: Annotated[int | None, typer.Option(
        min=1, help="Comments on the demo site, over six platforms (default: the whole test "
        "split, 1,759).")] = None,
) -> None:
    """Crawl throughput of the four demo site profiles (Weibo-like API, shop API, forum, RSS
    feed) on the bundled demo site and an embedded broker.

    Each round runs `yuqing crawl` with all four profiles in one process on a fresh store (every
    comment is new), then again on the unchanged site (nothing is new: paging stops at known
    comments). Per profile: pages (requests), comments sent, the Scrapy crawl's own seconds
    (start-up excluded), requests/s and comments/s; the process's wall time per crawl; with
    several rounds, min / median / max. About 30 s a round on 2 cores. Stdout gets the Markdown
    table, then one JSON object. Exits 1 if a crawl failed, a profile sent nothing the first
    time, or the re-crawl sent anything.
    """

    from devkit.bench.crawl import run as run_bench
    from devkit.bench.crawl import table
    from pipeline.config import get_settings

    result = run_bench(get_settings(), rounds, delay_s, comments)
    _report(result, table(result))


def _report(result: dict[str, Any], table: str) -> None:
    """A pass/fail bench's output: the Markdown table, then the whole result as one JSON object;
    exit status 1 unless it passed."""
    typer.echo(table)
    typer.echo(json.dumps(result, ensure_ascii=False))
    if not result["ok"]:
        raise typer.Exit(1)


@app.command("api")
def bench_api(
    alerts: Annotated[int, typer.Option(
        min=1, help="Alerts in the store, spread over the last 30 days.")] = 100_000,
    requests: Annotated[int, typer.Option(
        min=2, help="Timed requests per filter shape, one after another.")] = 200,
    database_url: Annotated[str | None, typer.Option(
        help="An EMPTY store to fill and measure, e.g. a new PostgreSQL database; its alerts "
             "are left there (default: a fresh SQLite file, removed afterwards).")] = None,
    postgres: Annotated[bool, typer.Option(
        help="Start a throwaway PostgreSQL server for the store (needs PostgreSQL installed).")]
    = False,
) -> None:
    """Latency of `GET /alerts` on a store of many alerts, through `yuqing serve` on loopback.

    Seeds the store (six sources, watched keywords, scores, statuses, a few withdrawn), makes a
    viewer token, starts the API in its own process and times each filter shape: first page,
    since 24 h, keyword, source + min_score, text search (q) and a page deep down the cursor.
    About 2 minutes at the default sizes on 2 cores. Stdout gets the Markdown table (p50, p95,
    max per shape and overall), then one JSON object. Exits 1 if a request failed or a shape
    found no alerts.
    """

    from devkit.bench.api import run as run_bench
    from devkit.bench.api import table
    from pipeline.config import get_settings

    result = run_bench(get_settings(), alerts, requests, database_url, postgres)
    _report(result, table(result))
