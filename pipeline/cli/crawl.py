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
