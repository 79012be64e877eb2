"""The ``yuqing`` command: one entry point for every operator task.

Each module here holds one group of commands, and each command is a few lines over a domain
function. Commands import their domain modules (Beam, torch, Scrapy, SQLAlchemy) inside their own
body: that keeps ``yuqing --help`` fast, and is the only reason for those lazy imports.

Errors an operator can act on (bad settings, an unreachable store or broker, a missing artifact)
are printed as one line, exit status 2 for configuration and 1 for the rest; ``-v`` adds the
traceback.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from pipeline.broker import BrokerError
from pipeline.cli import (
    bench,
    build,
    crawl,
    demo,
    evaluate,
    export,
    notify,
    query,
    replay,
    serve,
    store,
    stream,
    text,
    train,
)
from pipeline.config import ConfigError
from pipeline.errors import OperatorError
from pipeline.logs import configure_logging
from pipeline.store.engine import StoreError

app = typer.Typer(
    help="Yuqing: crawl Chinese comments, score their sentiment, alert on negative reviews.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(train.app, name="train")
app.add_typer(evaluate.app, name="eval")
app.add_typer(bench.app, name="bench")
app.add_typer(build.app, name="build")
app.add_typer(store.app, name="db")
app.add_typer(serve.app, name="token")
app.add_typer(export.app, name="export")
app.add_typer(notify.app, name="notify")
app.command()(stream.broker)
app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    stream.run)
app.command()(crawl.crawl)
app.command()(crawl.schedule)
app.command()(query.alerts)
app.command("dead-letters")(query.dead_letters)
app.command()(query.crawls)
app.command()(query.surges)
app.command()(query.stats)
app.command()(query.sources)
app.command()(demo.demo)
app.command("demo-site")(demo.demo_site)
app.command("demo-surge")(demo.demo_surge)
app.command("demo-webhook")(demo.demo_webhook)
app.command()(evaluate.score)
app.command()(text.correct)
app.command()(serve.serve)
app.command()(replay.replay)

_verbose = False


@app.callback()
def configure(verbose: bool = typer.Option(False, "--verbose", "-v",
                                           help="Log at DEBUG level; show tracebacks.")) -> None:
    global _verbose
    _verbose = verbose
    configure_logging(verbose)


def main() -> None:
    """The console script: run the command, and turn every error an operator can make into one
    line on stderr: bad arguments (exit 2), bad settings (2), unusable store, broker or artifact
    (1)."""
    if (position := _undecodable_argument(sys.argv[1:])) is not None:
        _fail(f"argument {position} is not valid UTF-8", 2)
    try:
        status = app(prog_name="yuqing", standalone_mode=False)
    except typer.TyperException as error:  # usage errors (Click's), otherwise a box of lines
        _fail(_usage_message(error), getattr(error, "exit_code", 2))
    except (KeyboardInterrupt, typer.Abort):
        _fail("interrupted", 130)
    except (ConfigError, OperatorError, StoreError, BrokerError) as error:
        if _verbose:
            raise
        _fail(str(error), 2 if isinstance(error, ConfigError) else 1)
    sys.exit(status or 0)


def _fail(message: str, status: int) -> NoReturn:
    if message:
        print(f"yuqing: error: {message}", file=sys.stderr)
    sys.exit(status)


def _usage_message(error: typer.TyperException) -> str:
    """Click's message, with where to find help instead of the usage block it would print.

    ``yuqing`` without a command prints the help itself and has no message.
    """
    message = error.format_message()
    context = getattr(error, "ctx", None)
    if message and context is not None:
        message += f" (see `{context.command_path} --help`)"
    return message


def _undecodable_argument(arguments: list[str]) -> int | None:
    """The 1-based position of an argument that was not UTF-8: Python keeps its bytes as lone
    surrogates, which fail far from here (printing, the text stage) with a traceback."""
    for position, argument in enumerate(arguments, start=1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            return position
    return None
