"""``yuqing notify``: the notification dispatcher, and a test message to one channel."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Notifications: run the dispatcher, or test a channel.",
                  no_args_is_help=True)


@app.command()
def run() -> None:
    """Send the outbox's notices to the channels that the config file's notification rules name,
    until SIGTERM or Ctrl-C (the message being sent is finished first). Several may run at once:
    each message is sent by one of them."""
    import signal
    import threading

    from pipeline.config import get_settings
    from pipeline.notify.dispatcher import Dispatcher
    from pipeline.store.engine import open_store

    settings = get_settings()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    Dispatcher(open_store(settings.database_url), settings.notifications).run(stop)


@app.command()
def test(channel: Annotated[str, typer.Option(
        help="A channel named in the config file's notifications.channels.")]) -> None:
    """Send a test message to one channel now, outside the outbox, and say whether it arrived.
    Exit status 1 if it did not."""
    from pipeline.config import get_settings
    from pipeline.notify.dispatcher import Dispatcher
    from pipeline.store.engine import make_engine

    settings = get_settings()
    if channel not in settings.notifications.channels:
        known = ", ".join(sorted(settings.notifications.channels)) or "none configured"
        raise typer.BadParameter(f"no channel {channel!r} (channels: {known})")
    error = Dispatcher(make_engine(settings.database_url), settings.notifications).test(channel)
    if error is not None:
        typer.echo(f"{channel}: not delivered: {error}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{channel}: delivered")
