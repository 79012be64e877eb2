"""``yuqing eval sentiment`` and ``yuqing score``: a model judged, and comments scored by hand."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from pipeline.cli.options import Model, ModelPath
from pipeline.records import label_for

if TYPE_CHECKING:  # the type only; models.predict loads torch, which `--help` does not need
    from models.predict import Scored

app = typer.Typer(help="Evaluate models on the held-out test split.", no_args_is_help=True)


@app.command("sentiment")
def eval_sentiment(
    model: Model = None,
    model_path: ModelPath = None,
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


def score(
    model: Model = None,
    model_path: ModelPath = None,
    text: Annotated[list[str] | None, typer.Option(
        help="A comment to score; repeatable. Without it, one comment per stdin line.")] = None,
) -> None:
    """Print one JSON line per comment: label, score = P(negative), model and version.

    Comments go through the pipeline's own text stage, and the label follows the pipeline's own
    rule (negative at or above YUQING_ALERT_THRESHOLD), so a comment checked here gets the answer
    the pipeline gave it. A comment the text stage rejects gets an "error" instead of a score.
    """
    import json
    import sys

    import torch

    from models.predict import Predictor, settings_for
    from pipeline.config import get_settings

    torch.set_num_threads(1)
    settings = settings_for(get_settings(), model, model_path)
    predictor = Predictor(settings)
    meta = {"model": predictor.scorer.name, "version": predictor.scorer.version,
            "threshold": settings.alert_threshold}
    lines: Iterator[str | bytes] = iter(text) if text else _stdin_lines(sys.stdin.buffer)
    undecodable = 0
    while chunk := list(islice(lines, settings.batch_size)):
        results = predictor.score([line for line in chunk if isinstance(line, str)])
        for line in chunk:
            if isinstance(line, bytes):  # reported in its place; the others are still scored
                undecodable += 1
                row: dict[str, object] = {"error": f"not UTF-8: {line[:60]!r}"}
            else:
                row = _score_row(next(results), settings.alert_threshold)
            typer.echo(json.dumps({**row, **meta}, ensure_ascii=False))
    if undecodable:
        typer.echo(f"yuqing: error: {undecodable} input lines were not UTF-8", err=True)
        raise typer.Exit(1)


def _stdin_lines(stream: BinaryIO) -> Iterator[str | bytes]:
    """Each line as text, or as its bytes when it is not UTF-8."""
    for raw in stream:
        line = raw.rstrip(b"\r\n")
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            yield line


def _score_row(result: Scored, threshold: float) -> dict[str, object]:
    row: dict[str, object] = {"text": result.text}
    if result.score is None:
        row["error"] = result.rejected
    else:
        row.update(label=label_for(result.score, threshold).value, score=round(result.score, 4))
    return row
