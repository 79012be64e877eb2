"""``yuqing demo`` and ``yuqing demo-site``: the product once on the embedded defaults."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import typer

from crawlers.spiders import DEMO_SITE


def demo(
    limit: int | None = typer.Option(None, min=1, help="Serve only this many demo comments."),
    top: int = typer.Option(10, min=1, help="How many of the worst alerts to show."),
) -> None:
    """Run everything once on the embedded defaults: broker, demo site, crawl, pipeline, alerts.

    The site serves the held-out reviews over six sources; the two hand-written spiders and the
    four demo profiles crawl it, from scratch each time. A source whose crawl read fewer comments
    than it serves is listed under the summary, with the reason.

    Alerts land in the configured database (YUQING_DATABASE_URL; var/yuqing.db by default), so
    `yuqing alerts` shows them afterwards.
    """
    from rich.console import Console

    from devkit.demo import run_demo
    from pipeline.cli.present import Format, print_alerts
    from pipeline.config import get_settings

    report = run_demo(get_settings(), limit=limit, top=top)
    run = report.pipeline
    console = Console()
    console.print(
        f"[bold]demo finished in {report.seconds}s[/bold]: served {report.served}, "
        f"crawled {report.crawled}, read {run.read}, scored {run.scored}, "
        f"alerts {run.alerts} ({report.alerts_stored} stored), dead letters {run.dead_letters}",
        soft_wrap=True)
    for source, count in report.fewer.items():  # why crawled < served, by source
        console.print(f"  {source}: crawled {count.crawled} of the {count.served} it serves: "
                      f"{count.why_fewer}", soft_wrap=True)
    print_alerts(report.top_alerts, Format.table, console)


def demo_site(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 to serve on.")] = (
        urlsplit(DEMO_SITE).port or 8080),
    limit: Annotated[int | None, typer.Option(min=1, help="Serve only this many comments.")] = None,
    platforms: Annotated[bool, typer.Option(
        help="Deal the reviews over every platform the site imitates (a Weibo-like API, a "
        "shop's review API, a forum, an RSS feed, besides the review pages and the JSON API), "
        "for the profiles in devkit/demosite/profiles/.")] = False,
) -> None:
    """Serve the demo review site: held-out test reviews as HTML pages and a JSON API."""
    import contextlib
    import threading

    from devkit.demosite.comments import demo_comments, platform_comments
    from devkit.demosite.server import DemoSite

    comments = platform_comments(limit) if platforms else demo_comments(limit)
    with DemoSite(comments, port=port) as site:
        typer.echo(f"demo site on {site.base_url}; Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
