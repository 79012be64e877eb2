"""The ``yuqing`` command: one entry point for every operator task.

Each command is a thin shell over a domain module: it parses options, calls one function and
prints the result. Heavy imports (Beam, torch, Scrapy) happen inside the commands so that
``yuqing --help`` stays fast.
"""

from __future__ import annotations

import logging

import typer

app = typer.Typer(
    help="Yuqing: crawl Chinese comments, score their sentiment, alert on negative reviews.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
train_app = typer.Typer(help="Train sentiment models from packaged data.", no_args_is_help=True)
bench_app = typer.Typer(help="Reproducible benchmarks; each prints a JSON object last.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate models on the held-out test split.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("kafka", "scrapy", "apache_beam", "urllib3", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
