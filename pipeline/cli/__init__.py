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

import typer

from pipeline.broker import BrokerError
from pipeline.cli import bench, build, crawl, demo, evaluate, query, store, stream, text, train
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
app.command()(stream.broker)
app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    stream.run)
app.command()(crawl.crawl)
app.command()(query.alerts)
app.command("dead-letters")(query.dead_letters)
app.command()(demo.demo)
app.command("demo-site")(demo.demo_site)
app.command()(evaluate.score)
app.command()(text.correct)

_verbose = False


@app.callback()
def configure(verbose: bool = typer.Option(False, "--verbose", "-v",
                                           help="Log at DEBUG level; show tracebacks.")) -> None:
    global _verbose
    _verbose = verbose
    configure_logging(verbose)


def main() -> None:
    """The console script: run the command, and turn an operator's error into one line."""
    try:
        app(prog_name="yuqing")
    except (ConfigError, OperatorError, StoreError, BrokerError) as error:
        if _verbose:
            raise
        print(f"yuqing: error: {error}", file=sys.stderr)
        sys.exit(2 if isinstance(error, ConfigError) else 1)
