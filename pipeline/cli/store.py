"""``yuqing db …``: the store's schema."""

from __future__ import annotations

import typer

app = typer.Typer(help="The alert store's schema (Alembic migrations).", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Create or upgrade the schema of YUQING_DATABASE_URL to the latest migration.

    Safe to run again; a database made by an older Yuqing is adopted and upgraded in place.
    The job and the query commands refuse to start until this has run.
    """
    from pipeline.config import get_settings
    from pipeline.store.engine import display_url
    from pipeline.store.migrations import upgrade as upgrade_schema

    url = get_settings().database_url
    typer.echo(f"{display_url(url)} is at schema revision {upgrade_schema(url)}")
