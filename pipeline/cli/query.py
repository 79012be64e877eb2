"""``yuqing alerts``, ``dead-letters``, ``crawls`` and ``sources``: what operators query."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.cli.present import Format
from pipeline.store.stats import Bucket, GroupBy

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


def surges(
    since: str | None = typer.Option(None, help="Only windows starting after: 30m, 2h, 7d or "
                                     "ISO time."),
    subject: str | None = typer.Option(None, help="Only this keyword or source."),
    limit: int = typer.Option(20, min=1, max=MAX_LIMIT, help="At most this many, newest first."),
    format: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
) -> None:
    """Show surges, newest window first: a keyword or source whose negative comments jumped
    above its own baseline, with the count, the baseline and the most negative comment."""
    from sqlalchemy.orm import Session

    from pipeline.cli.present import parse_since, print_rows
    from pipeline.config import get_settings
    from pipeline.store.engine import open_store
    from pipeline.store.surges import select_surges

    try:
        since_at = parse_since(since) if since else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
    with Session(open_store(get_settings().database_url)) as session:
        rows = [{column.name: getattr(surge, column.name)
                 for column in surge.__table__.columns}
                for surge in select_surges(session, since=since_at, subject=subject, limit=limit)]
    print_rows(rows, format, f"{len(rows)} surges", {
        "window (UTC)": lambda r: f"{r['window_start']:%Y-%m-%d %H:%M}-{r['window_end']:%H:%M}",
        "subject": lambda r: f"{r['subject_kind']} {r['subject']}",
        "negatives": lambda r: str(r["count"]),
        "baseline": lambda r: f"{r['baseline_mean']:.1f} ± {r['baseline_std']:.1f}",
        "threshold": lambda r: f"{r['threshold']:.1f}",
        "most negative": lambda r: r["top_comments"][0]["text"][:60] if r["top_comments"] else "",
    })


def stats(
    bucket: Bucket = typer.Option(Bucket.DAY, help="hour or day."),
    by: GroupBy = typer.Option(GroupBy.NONE, help="One series per source or keyword."),
    since: str = typer.Option("7d", help="From: 30m, 2h, 7d or ISO time."),
    source: str | None = typer.Option(None, help="Only this source."),
    keyword: str | None = typer.Option(None, help="Only comments mentioning this keyword."),
    tz: str = typer.Option("UTC", help="The IANA time zone days begin in, e.g. Asia/Shanghai."),
    format: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
) -> None:
    """Comments per hour or day (by publication time), how many are negative, and the negative
    share, optionally per source or keyword: the same numbers as the API's /stats."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from sqlalchemy.orm import Session

    from pipeline.cli.present import parse_since, print_rows
    from pipeline.config import get_settings
    from pipeline.store.engine import open_store
    from pipeline.store.stats import TooManyBuckets, comment_volume

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {tz!r}", param_hint="--tz") from None
    try:
        since_at = parse_since(since)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None
    with Session(open_store(get_settings().database_url)) as session:
        try:
            volumes = comment_volume(session, bucket=bucket, by=by, since=since_at,
                                     source=source, keyword=keyword, tz=zone)
        except TooManyBuckets as exc:
            raise typer.BadParameter(str(exc), param_hint="--since") from None
    rows = [{"start": point.start, "group": group, "total": point.total,
             "negative": point.negative, "share": point.share}
            for group, points in volumes.items() for point in points]
    print_rows(rows, format, f"comments per {bucket.value} since {since_at:%Y-%m-%d %H:%M} UTC", {
        "start": lambda r: f"{r['start']:%Y-%m-%d %H:%M}",
        **({by.value: lambda r: r["group"]} if by is not GroupBy.NONE else {}),
        "comments": lambda r: str(r["total"]),
        "negative": lambda r: str(r["negative"]),
        "share": lambda r: "-" if r["share"] is None else f"{r['share']:.0%}",
    })


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


def crawls(
    source: str | None = typer.Option(None, help="Only this profile's crawls (its id)."),
    limit: int = typer.Option(20, min=1, max=MAX_LIMIT, help="At most this many, newest first."),
    format: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
) -> None:
    """Show the crawls of site profiles, newest first: pages, comments found and sent, dead
    letters, HTTP errors by status, retries, suspected bans, and whether each went well."""
    import csv
    import json
    import sys

    from rich.console import Console
    from rich.table import Table
    from sqlalchemy.orm import Session

    from pipeline.config import get_settings
    from pipeline.store.crawls import select_crawl_runs
    from pipeline.store.engine import open_store
    from pipeline.store.models import CrawlRun

    with Session(open_store(get_settings().database_url)) as session:
        runs = select_crawl_runs(session, source, limit)
    rows = [{column.name: getattr(run, column.name) for column in run.__table__.columns}
            for run in runs]
    if format is Format.json:
        typer.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=2))
        return
    if format is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=[c.name for c in CrawlRun.__table__.columns])
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table(title=f"{len(runs)} crawls")
    for column in ("started", "profile", "s", "pages", "found", "sent", "dead", "http errors",
                   "retries", "bans", "ok"):
        table.add_column(column)
    for run in runs:
        errors = ", ".join(f"{status}×{count}" for status, count in run.http_errors.items())
        seconds = (run.finished_at - run.started_at).total_seconds()
        table.add_row(f"{run.started_at:%Y-%m-%d %H:%M:%S}", run.profile_id, f"{seconds:.0f}",
                      str(run.pages), str(run.items), str(run.new_items), str(run.dead_letters),
                      errors or "-", str(run.retries), str(run.bans_suspected),
                      "yes" if run.ok else f"NO ({run.finish_reason})")
    Console().print(table)


def sources(
    profiles: Path | None = typer.Option(
        None, help="The directory of site profiles (default: YUQING_PROFILES_DIR, else "
        "DATA_DIR/profiles)."),
    format: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
) -> None:
    """Show each site profile and its crawl health: last crawl, last success, when it last
    yielded something new, the error rate of its last crawls, and open crawl-health alerts
    (silent: nothing new for longer than its freshness.max_silence; failing: more of its last
    crawls went wrong than its freshness.max_error_rate). Exits 1 if any source has an open
    alert."""
    import csv
    import json
    import sys

    from rich.console import Console
    from rich.table import Table
    from sqlalchemy.orm import Session

    from crawlers.health import assess
    from crawlers.profiles import load_profiles
    from pipeline.config import get_settings
    from pipeline.store.crawls import open_source_alerts
    from pipeline.store.engine import open_store

    settings = get_settings()
    loaded = load_profiles(profiles or settings.profiles_path)
    with Session(open_store(settings.database_url)) as session:
        healths = [assess(session, profile) for profile in loaded]
        alerts = {alert.profile_id: alert for alert in open_source_alerts(session)}
    rows = [{"id": h.profile_id, "status": h.status, "crawls": h.crawls,
             "last_crawl_at": h.last_crawl_at, "last_success_at": h.last_success_at,
             "last_new_at": h.last_new_at,
             "error_rate": None if h.error_rate is None else round(h.error_rate, 2),
             "problems": "; ".join(f"{kind}: {why}" for kind, why in h.problems.items())}
            for h in healths]
    if format is Format.json:
        typer.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=2))
    elif format is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["id"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(title=f"{len(rows)} sources")
        for column in ("source", "status", "last crawl", "last success", "last new",
                       "error rate"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["id"], row["status"], *(
                f"{row[key]:%Y-%m-%d %H:%M}" if row[key] else "-"
                for key in ("last_crawl_at", "last_success_at", "last_new_at")),
                "-" if row["error_rate"] is None else f"{row['error_rate']:.0%}")
        Console().print(table)
        for row in rows:
            if row["problems"]:
                typer.echo(f"yuqing: {row['id']}: {row['problems']}", err=True)
    if alerts:
        raise typer.Exit(1)
