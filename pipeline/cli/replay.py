"""``yuqing replay``: re-score stored comments with a new model and see what would change."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli.options import Model, ModelPath

if TYPE_CHECKING:  # the type only; pipeline.replay loads the text stage, which --help skips
    from pipeline.replay import ReplayReport


def replay(
    model: Model = None,
    model_path: ModelPath = None,
    threshold: Annotated[float | None, typer.Option(
        min=0, max=1, help="Alert when P(negative) ≥ this, for every source (default: "
        "YUQING_ALERT_THRESHOLD and YUQING_SOURCE_THRESHOLDS).")]
    = None,
    since: Annotated[str | None, typer.Option(
        help="Only comments written since: 30m, 2h, 7d or an ISO time.")] = None,
    until: Annotated[str | None, typer.Option(
        help="Only comments written before: 30m, 2h, 7d (ago) or an ISO time.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    limit: Annotated[int | None, typer.Option(
        min=1, help="At most this many comments (in comment-id order).")] = None,
    apply: Annotated[bool, typer.Option(
        "--apply", help="Write the new scores: raise and withdraw alerts accordingly.")] = False,
    examples: Annotated[int, typer.Option(
        min=0, help="Rows in each table of examples (the largest score changes).")] = 10,
    batch_size: Annotated[int, typer.Option(min=1, help="Comments scored at a time.")] = 256,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the report as one JSON object instead of tables.")] = False,
) -> None:
    """Re-score stored comments with a model (a new version, another model, another threshold)
    through the job's own text stage and scorer, and report how many were re-scored, which
    alerts would be raised (now negative) or withdrawn (now positive), and which scores moved by
    more than 0.1. Nothing is written without --apply; with it, the new scores and model
    version are stored as the job stores them, each comment keeping its Kafka lineage, and an
    alert raised this way is not notified.
    """
    from tqdm import tqdm

    from models.predict import settings_for
    from pipeline.config import get_settings
    from pipeline.replay import Filters, Rescorer
    from pipeline.replay import replay as run_replay
    from pipeline.scoring import load_scorer
    from pipeline.store.engine import open_store

    settings = settings_for(get_settings(), model, model_path)
    if threshold is not None:
        settings = settings.model_copy(update={"alert_threshold": threshold,
                                               "source_thresholds": {}})
    filters = Filters(since=_when(since, "--since"), until=_when(until, "--until"),
                      source=source, limit=limit)
    engine = open_store(settings.database_url)
    rescorer = Rescorer(settings, load_scorer(settings))
    with tqdm(desc="replay", unit="comment") as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done)

        report = run_replay(engine, rescorer, filters, apply=apply, batch_size=batch_size,
                            examples=examples, progress=advance)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        _print(report)


def _when(value: str | None, option: str) -> datetime | None:
    from pipeline.cli.present import parse_since

    if value is None:
        return None
    try:
        return parse_since(value)
    except ValueError:
        raise typer.BadParameter(f"takes 30m, 2h, 7d or an ISO timestamp, not {value!r}",
                                 param_hint=option) from None


def _print(report: ReplayReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    verb = "were" if report.applied else "would be"
    console.print(
        f"{report.model} {report.model_version} at threshold {report.thresholds.describe()}: "
        f"{report.rescored} comments re-scored ({report.refused} refused by the text stage); "
        f"{report.raised.count} alerts {verb} raised, {report.withdrawn.count} {verb} "
        f"withdrawn; {report.shifted.count} scores moved by more than 0.1"
        + ("" if report.applied else ". Nothing was written: run again with --apply."))
    for title, kind in ((f"alerts {verb} raised", report.raised),
                        (f"alerts {verb} withdrawn", report.withdrawn),
                        ("scores moved by more than 0.1", report.shifted)):
        if not kind.count or not report.examples:
            continue
        table = Table(title=f"{title}: {kind.count} (largest changes)")
        for column in ("comment", "source", "was", "now", "text"):
            table.add_column(column, overflow="fold", max_width=50 if column == "text" else None)
        for change in kind.largest():
            table.add_row(change.comment_id, change.source,
                          f"{change.old_label} {change.old_score:.3f} ({change.old_model_version})",
                          f"{change.new_label} {change.new_score:.3f}", change.text[:100])
        console.print(table)
