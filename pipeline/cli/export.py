"""``yuqing export``: what operators taught the system, as data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Export operator feedback as labelled examples.", no_args_is_help=True)


@app.command()
def feedback(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="The JSON Lines file to write (default: standard output).")]
    = None,
) -> None:
    """Write every alert an operator marked true or false positive as a labelled example, one
    JSON line each: the comment's raw text, its label (a true positive is `negative`, a false
    positive `positive`), the verdict, the score and model version that raised the alert, and
    who marked it when. Marks are made through the API (`POST /alerts/ID/actions`)."""
    import json
    import sys

    from sqlalchemy.orm import Session

    from pipeline.config import get_settings
    from pipeline.records import Label
    from pipeline.store.engine import open_store
    from pipeline.store.triage import Verdict, judged_alerts

    with Session(open_store(get_settings().database_url)) as session:
        lines = [json.dumps({
            "comment_id": alert.comment_id, "source": alert.source, "text": alert.raw_text,
            "label": (Label.NEGATIVE if alert.verdict == Verdict.TRUE_POSITIVE
                      else Label.POSITIVE).value,
            "verdict": alert.verdict, "score": alert.score,
            "model_version": alert.model_version, "marked_by": event.actor,
            "marked_at": event.at.isoformat(), "note": event.note,
        }, ensure_ascii=False) for alert, event in judged_alerts(session)]
    text = "".join(line + "\n" for line in lines)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(lines)} labelled examples to {output}", err=True)
