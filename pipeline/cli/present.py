"""Render query results for operators: a readable table, or JSON / CSV for other tools."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from pipeline.records import AlertRow
from pipeline.store.models import Alert

_RELATIVE = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``30m``, ``2h``, ``7d`` or an ISO-8601 timestamp (UTC when it names no zone)."""
    match = _RELATIVE.match(value.strip())
    if match:
        amount, unit = match.groups()
        try:
            return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(amount)})
        except OverflowError:
            raise ValueError(f"--since {value} reaches back before the year 1") from None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"--since takes 30m, 2h, 7d or an ISO timestamp, not {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def alert_dict(alert: Alert) -> dict[str, Any]:
    """Every column of the alert row, plus when it was stored and withdrawn, in JSON-friendly
    types."""
    names = [field.name for field in fields(AlertRow)] + ["created_at", "updated_at",
                                                          "withdrawn_at"]
    return {name: _plain(getattr(alert, name)) for name in names}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def print_alerts(alerts: Sequence[Alert], fmt: Format, console: Console | None = None) -> None:
    rows = [alert_dict(alert) for alert in alerts]
    if fmt is Format.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif fmt is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["comment_id"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(title=f"{len(rows)} alerts", show_lines=False)
        for column in ("score", "source", "keywords", "text", "kafka"):
            table.add_column(column, overflow="fold", max_width=60 if column == "text" else None)
        for row in rows:
            kafka = f"{row['kafka_topic']}/{row['kafka_partition']}/{row['kafka_offset']}"
            table.add_row(f"{row['score']:.3f}", row["source"], ",".join(row["keywords"]),
                          row["raw_text"][:120], kafka)
        (console or Console()).print(table)


def print_rows(rows: Sequence[dict[str, Any]], fmt: Format, title: str,
               columns: dict[str, Callable[[dict[str, Any]], str]]) -> None:
    """JSON and CSV carry every field of ``rows``; the table shows ``columns``, each cell made
    by its function from the row."""
    plain = [{name: _plain(value) for name, value in row.items()} for row in rows]
    if fmt is Format.json:
        json.dump(plain, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif fmt is Format.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(plain[0]) if plain else list(columns))
        writer.writeheader()
        writer.writerows({name: json.dumps(value, ensure_ascii=False)
                          if isinstance(value, list | dict) else value
                          for name, value in row.items()} for row in plain)
    else:
        table = Table(title=title)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(cell(row) for cell in columns.values()))
        Console().print(table)
