"""``yuqing serve`` and ``yuqing token``: the REST API and the tokens it accepts."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8000,
) -> None:
    """Serve the REST API: alerts with their lineage, and /healthz. Every route but /healthz
    needs `Authorization: Bearer TOKEN` (`yuqing token create`); the OpenAPI schema is at
    /openapi.json and its pages at /docs. Runs until SIGTERM or Ctrl-C."""
    import uvicorn

    from pipeline.api.app import create_app
    from pipeline.config import get_settings

    uvicorn.run(create_app(get_settings()), host=host, port=port, log_level="info")


@app.command()
def create(
    name: Annotated[str, typer.Option(help="Who or what the token is for (shown in audits).")],
    role: Annotated[str, typer.Option(help="viewer: reads; operator: also changes alerts.")]
    = "viewer",
) -> None:
    """Make an API token and print it. It is shown only now: the store keeps a hash."""
    from sqlalchemy.orm import Session

    from pipeline.config import get_settings
    from pipeline.store.engine import open_store
    from pipeline.store.tokens import Role, create_token

    try:
        chosen = Role(role)
    except ValueError:
        raise typer.BadParameter(f"role must be one of {[r.value for r in Role]}") from None
    with Session(open_store(get_settings().database_url)) as session, session.begin():
        token = create_token(session, name, chosen)
    typer.echo(token)


@app.command("list")
def list_() -> None:
    """Every token: id, name, role, when made and last used, and whether revoked."""
    from sqlalchemy.orm import Session

    from pipeline.config import get_settings
    from pipeline.store.engine import open_store
    from pipeline.store.tokens import list_tokens

    with Session(open_store(get_settings().database_url)) as session:
        for token in list_tokens(session):
            used = token.last_used_at.isoformat() if token.last_used_at else "never used"
            state = f"revoked {token.revoked_at.isoformat()}" if token.revoked_at else "active"
            typer.echo(f"{token.id}\t{token.name}\t{token.role}\t"
                       f"{token.created_at.isoformat()}\t{used}\t{state}")


@app.command()
def revoke(token_id: Annotated[int, typer.Argument(help="The id `yuqing token list` shows.")]
           ) -> None:
    """Stop a token from working, from its next request."""
    from sqlalchemy.orm import Session

    from pipeline.config import get_settings
    from pipeline.store.engine import open_store
    from pipeline.store.tokens import revoke_token

    with Session(open_store(get_settings().database_url)) as session, session.begin():
        token = revoke_token(session, token_id)
        name = token.name if token is not None else None
    if name is None:
        raise typer.BadParameter(f"no token with id {token_id} (see `yuqing token list`)")
    typer.echo(f"token {token_id} ({name}) revoked")
