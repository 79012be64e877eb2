"""``yuqing alerts`` and ``yuqing dead-letters``: what operators query."""

from __future__ import annotations

import typer

from pipeline.cli.present import Format

MAX_LIMIT = 100_000
"""More rows than a terminal or a spreadsheet holds; the databases refuse numbers past 2**63."""


def alerts(
    since: str | None = typer.Option(None, help="Only newer alerts: 30m, 2h, 7d or ISO time."),
    source: str | None = typer.Option(None, help="Only this source (e.g. demo-reviews)."),
    keyword: str | None = typer.Option(None, help="Only alerts about this watched keyword "
                                       "(YUQING_KEYWORDS), e.g. 京东."),
    min_score: float | None = typer.Option(None, min=0, max=1, help="Only P(negative) ≥ this."),
    withdrawn: bool = typer.Option(False, "--withdrawn", help="Only withdrawn alerts (a newer "
                                   "version of the comment scored positive) instead of "
                                   "the standing ones."),
    limit: int = typer.Option(20, min=1, max=MAX_LIMIT, help="At most this many, worst first."),
    format: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
) -> None:
    """Query stored alerts, worst and newest first; withdrawn ones only with --withdrawn."""
    from sqlalchemy.orm import Session

    from pipeline.cli.present import parse_since, print_alerts
    from pipeline.config import get_settings
    from pipeline.store.engine import open_store
    from pipeline.store.queries import select_alerts

    try:
        since_at = parse_since(since) if since else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
    with Session(open_store(get_settings().database_url)) as session:
        rows = select_alerts(session, since=since_at, source=source, keyword=keyword,
                             min_score=min_score, withdrawn=withdrawn, limit=limit)
        print_alerts(rows, format)


def dead_letters(
    stage: str | None = typer.Option(
        None, help="Only this stage: crawl, parse, text, score, store."),
    limit: int = typer.Option(20, min=1, max=MAX_LIMIT, help="At most this many, newest first."),
) -> None:
    """Show messages that could not be used, from any stage, with the reason and their origin."""
    from sqlalchemy.orm import Session

    from pipeline.config import get_settings
    from pipeline.store.engine import open_store
    from pipeline.store.queries import select_dead_letters

    with Session(open_store(get_settings().database_url)) as session:
        for letter in select_dead_letters(session, stage=stage, limit=limit):
            where = f"{letter.kafka_topic}/{letter.kafka_partition}/{letter.kafka_offset}"
            typer.echo(f"[{letter.stage}] {where} {letter.reason} raw={letter.raw[:80]!r}")
