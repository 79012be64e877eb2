"""``yuqing bench …``: reproducible benchmarks (development code in ``devkit.bench``)."""

from __future__ import annotations

from typing import Annotated

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
    import json

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
    import json

    from devkit.bench.text import run as run_bench
    from pipeline.config import get_settings

    typer.echo(json.dumps(run_bench(get_settings(), baseline=baseline, downstream=downstream),
                          ensure_ascii=False))
