"""``yuqing crawl``: run spiders; their comments go to Kafka."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def crawl(
    spiders: Annotated[list[str] | None, typer.Argument(
        help="Hand-written spider names: demo_reviews, demo_api.")] = None,
    profile: Annotated[list[Path] | None, typer.Option(
        "--profile", "-p", help="A site profile (TOML or YAML) to crawl with the generic "
        "spider; repeat for several.")] = None,
    base_url: Annotated[str | None, typer.Option(
        help="Site root for the demo spiders (default: the demo site on port 8080).")] = None,
) -> None:
    """Crawl with Scrapy spiders or site profiles; every comment goes to Kafka
    (YUQING_KAFKA_BOOTSTRAP).

    Valid comments go to the comments topic keyed by their stable id, invalid ones to the
    dead-letter topic with the reason (the job stores them; `yuqing dead-letters --stage crawl`
    shows them). A message Kafka did not acknowledge within YUQING_KAFKA_DELIVERY_TIMEOUT_S is
    listed in DATA_DIR/undelivered/; crawl again to deliver it. Prints a JSON summary per spider
    and exits 1 if a spider failed or a message was not delivered.
    """
    import json

    from crawlers.profiles import load_profile
    from crawlers.run import available_spiders, crawl_summary_problems
    from crawlers.run import crawl as run_crawl
    from pipeline.config import get_settings

    settings = get_settings()
    known = available_spiders(settings)
    spiders, paths = spiders or [], profile or []
    if not spiders and not paths:
        raise typer.BadParameter(f"name a spider ({', '.join(known)}) or give --profile PATH")
    if unknown := sorted(set(spiders) - set(known)):
        raise typer.BadParameter(f"unknown spiders {unknown}; known: {known}")
    profiles = [load_profile(path) for path in paths]
    summary = run_crawl(spiders, settings, profiles,
                        **({"base_url": base_url} if base_url else {}))
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    for problem in crawl_summary_problems(summary):
        typer.echo(f"yuqing: {problem}", err=True)
    if not all(result["ok"] for result in summary.values()):
        raise typer.Exit(1)


def schedule(
    profiles: Annotated[Path | None, typer.Option(
        "--profiles", help="The directory of site profiles (default: YUQING_PROFILES_DIR, "
        "else DATA_DIR/profiles).")] = None,
    once: Annotated[bool, typer.Option(
        "--once", help="Crawl the profiles that are due now, then exit: for cron or a "
        "Kubernetes CronJob.")] = False,
    metrics_port: Annotated[int | None, typer.Option(
        help="Serve the crawl metrics (Prometheus text format) on this port.")] = None,
    metrics_address: Annotated[str, typer.Option(
        help="The address the metrics port listens on.")] = "127.0.0.1",
    metrics_textfile: Annotated[Path | None, typer.Option(
        help="With --once: write the crawl metrics to this file, for the node exporter's "
        "textfile collector.")] = None,
) -> None:
    """Crawl every site profile on its own schedule (its `schedule:` section: `every` or
    `cron`, with `jitter`), until SIGTERM or Ctrl-C.

    Each crawl runs as `yuqing crawl --profile FILE` in its own process (its log in
    DATA_DIR/logs/crawls/PROFILE.log); one crawl per profile at a time, at most
    YUQING_CRAWL_WORKERS at once, each stopped after YUQING_CRAWL_TIMEOUT_S. A failed crawl is
    recorded (`yuqing crawls`, `yuqing sources`) and the schedule goes on. The schedule is kept
    in the store: a restarted scheduler runs what came due while it was down, once. The profile
    directory is read again every minute: added, changed and removed profiles take effect
    without a restart. On SIGTERM the running crawls are asked to stop; each saves where it got
    to, and its next crawl resumes there; one still running 30 s later is killed. `--once`
    does the same on SIGTERM, and starts no more crawls.
    """
    import json
    import threading

    from prometheus_client import start_http_server, write_to_textfile

    from crawlers.metrics import REGISTRY
    from crawlers.scheduler import CrawlScheduler, Outcome, on_stop_signals, stop_crawls
    from pipeline.config import get_settings

    settings = get_settings()
    if metrics_textfile is not None and not once:
        raise typer.BadParameter("--metrics-textfile is for --once; a running scheduler "
                                 "serves its metrics with --metrics-port")
    scheduler = CrawlScheduler(settings, profiles or settings.profiles_path)
    if metrics_port is not None:
        start_http_server(metrics_port, addr=metrics_address, registry=REGISTRY)
    if not once:
        stop = threading.Event()
        on_stop_signals(stop.set)
        scheduler.run(stop)
        return
    on_stop_signals(stop_crawls)
    results = scheduler.run_once()
    if metrics_textfile is not None:
        write_to_textfile(str(metrics_textfile), REGISTRY)
    typer.echo(json.dumps({result.profile_id: {
        "outcome": result.outcome, "seconds": round(result.seconds, 1),
        "pages": (result.summary or {}).get("pages", 0),
        "produced": (result.summary or {}).get("produced", 0),
        **({"detail": result.detail} if result.detail else {}),
    } for result in results}, ensure_ascii=False, indent=2))
    if any(result.outcome in (Outcome.FAILED, Outcome.CRASHED) for result in results):
        raise typer.Exit(1)
