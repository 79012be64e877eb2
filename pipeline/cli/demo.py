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
        f"alerts {run.alerts} ({report.alerts_stored} stored), surges {run.surges}, "
        f"dead letters {run.dead_letters}",
        soft_wrap=True)
    for source, count in report.fewer.items():  # why crawled < served, by source
        console.print(f"  {source}: crawled {count.crawled} of the {count.served} it serves: "
                      f"{count.why_fewer}", soft_wrap=True)
    print_alerts(report.top_alerts, Format.table, console)


def demo_surge() -> None:
    """Show surge detection on the demo data, through the real streaming job.

    Three hours of held-out reviews about two brands go onto the embedded broker, stamped with
    the times they would have arrived: a steady trickle of negatives about each brand every
    10 minutes, and one burst of 25 negatives about 携程 30 minutes before the end. The job
    scores them and judges every window against each brand's baseline; the surges it raised
    are listed (expected: one, for the burst). They stay in the store, and `yuqing serve`
    shows them under /surges.
    """
    from rich.console import Console
    from rich.table import Table

    from devkit.surge_demo import run_surge_demo
    from pipeline.config import get_settings

    report = run_surge_demo(get_settings())
    console = Console()
    sent = ", ".join(f"{brand} {count}" for brand, count in report.negatives_sent.items())
    console.print(
        f"[bold]sent {report.comments} comments[/bold] over three hours from "
        f"{report.first_window:%H:%M} UTC (negative reviews: {sent}; the burst at "
        f"{report.burst_window:%H:%M}); the job scored {report.pipeline.scored}, "
        f"{report.pipeline.alerts} negative, and raised {len(report.surges)} "
        f"surge{'s' if len(report.surges) != 1 else ''}", soft_wrap=True)
    table = Table("subject", "window (UTC)", "negatives", "baseline", "threshold",
                  "worst comment")
    for surge in report.surges:
        worst = surge.top_comments[0]["text"] if surge.top_comments else ""
        table.add_row(f"{surge.subject_kind} {surge.subject}",
                      f"{surge.window_start:%H:%M}-{surge.window_end:%H:%M}", str(surge.count),
                      f"{surge.baseline_mean:.1f} ± {surge.baseline_std:.1f}",
                      f"{surge.threshold:.1f}", worst[:40])
    console.print(table)


def demo_webhook(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 to listen on.")] = 9000,
    secret_env: Annotated[str | None, typer.Option(
        help="An environment variable holding the webhook channel's secret: requests must "
        "then carry its signature. Without it, signatures are not checked.")] = None,
) -> None:
    """Receive the generic webhook channel's notifications locally and print them.

    Point a channel of type "webhook" at http://127.0.0.1:PORT/ to watch `yuqing notify run`
    deliver: each message is shown once (a resend after a crash is recognised by its delivery
    id); a bad signature or a stale timestamp is refused with 401.
    """
    import contextlib
    import os
    import threading

    from devkit.webhook_receiver import WebhookReceiver, describe

    secret = None
    if secret_env is not None:
        secret = os.environ.get(secret_env)
        if not secret:
            raise typer.BadParameter(f"the environment variable {secret_env} is not set",
                                     param_hint="--secret-env")
    receiver = WebhookReceiver(show=lambda message: typer.echo(describe(message)),
                               secret=secret, port=port).start()
    checks = "signatures checked" if secret else "signatures NOT checked (no --secret-env)"
    typer.echo(f"listening on {receiver.url} ({checks}); Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    receiver.stop()


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
