"""Run spiders to completion in this process and report what each one produced.

Twisted's reactor starts once per process, so :func:`crawl` can be called only once in a
process; tests and the demo orchestrator run it through ``yuqing crawl`` in a subprocess.

A crawl ends with every message either acknowledged by Kafka or reported as not delivered and
listed in a file under ``DATA_DIR/undelivered`` (:mod:`crawlers.pipelines`); a spider with any
not delivered is not ok, and its problem line names the file. Crawling again delivers them,
and re-sending what was delivered is harmless: the store keeps one alert per comment id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.spiderloader import SpiderLoader
from sqlalchemy.orm import Session

from crawlers.extensions import ITEM_ERRORS, LOST
from crawlers.health import update_alerts
from crawlers.pipelines import PRODUCED, UNDELIVERED, UNDELIVERED_FILE
from crawlers.profiles import Profile
from crawlers.settings import scrapy_settings
from crawlers.spiders.profile import (
    BAN_PAGES,
    DATE_PROBLEMS,
    EDITED_ITEMS,
    KNOWN_ITEMS,
    NEW_ITEMS,
    ProfileSpider,
)
from pipeline.config import Settings
from pipeline.kafka import check_broker
from pipeline.store.engine import check_store, make_engine
from pipeline.store.models import CrawlRun

log = logging.getLogger(__name__)


def available_spiders(settings: Settings) -> list[str]:
    """The hand-written spiders; the generic one runs only with a profile (``profiles=``)."""
    names = SpiderLoader.from_settings(scrapy_settings(settings)).list()
    return sorted(name for name in names if name != ProfileSpider.name)


def summarize(crawler: Crawler, settings: Settings) -> dict[str, Any]:
    """The numbers an operator checks after a crawl; ``ok`` is false if anything was lost.

    Every number comes from this crawler's own stats, so one spider's trouble never fails
    another: ``errors`` are exceptions from its callbacks and item pipelines (not Scrapy's
    ``log_count/ERROR``, which counts the whole process's records), and ``failed_requests`` the
    pages it asked for that never reached a callback, counted by ``reasons``
    (:class:`crawlers.extensions.PageLedger`). Each message the spider produced is counted once:
    acknowledged by Kafka (``produced`` comments, ``dead_letters``) or ``undelivered``, those
    listed in ``undelivered_file`` (:class:`crawlers.pipelines.KafkaPipeline`).
    """
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    undelivered = sum(
        stats.get(f"{UNDELIVERED}/{topic}", 0)
        for topic in (settings.topic_comments, settings.topic_dead_letters)
    )
    reasons = {key.removeprefix(f"{LOST}/"): count for key, count in stats.items()
               if key.startswith(f"{LOST}/")}
    summary = {
        "pages": stats.get("response_received_count", 0),
        "produced": stats.get(f"{PRODUCED}/{settings.topic_comments}", 0),
        "dead_letters": stats.get(f"{PRODUCED}/{settings.topic_dead_letters}", 0),
        "dropped": stats.get("item_dropped_count", 0),
        "undelivered": undelivered,
        "undelivered_file": stats.get(UNDELIVERED_FILE),
        "errors": stats.get("spider_exceptions/count", 0) + stats.get(ITEM_ERRORS, 0),
        "failed_requests": stats.get(LOST, 0),
        "undated": stats.get(DATE_PROBLEMS, 0),
        "http_errors": _http_errors(stats),
        "retries": stats.get("retry/count", 0),
        "reasons": dict(sorted(reasons.items(), key=lambda reason: (-reason[1], reason[0]))),
        "finish_reason": stats.get("finish_reason"),
        # Every numeric stat, for the metrics (crawlers.metrics): what the numbers above omit.
        "scrapy_stats": {key: value for key, value in sorted(stats.items())
                         if isinstance(value, int | float) and not isinstance(value, bool)},
    }
    summary["ok"] = (summary["finish_reason"] == "finished" and not undelivered
                     and not summary["errors"] and not summary["failed_requests"])
    return summary


def _http_errors(stats: dict[str, Any]) -> dict[str, int]:
    """Responses with an error status, by status (retried ones included)."""
    prefix = "downloader/response_status_count/"
    return {key.removeprefix(prefix): count for key, count in sorted(stats.items())
            if key.startswith(prefix) and int(key.removeprefix(prefix)) >= 400}


def profile_summary(crawler: Crawler, summary: dict[str, Any]) -> dict[str, Any]:
    """A profile crawl's summary, with what only a profile spider counts: comments found, new
    or edited ones (what was sent), and suspected bans (the profile's ban statuses, and pages
    that matched its ban patterns), which make the crawl not ok: it read nothing there."""
    assert crawler.stats is not None and isinstance(crawler.spider, ProfileSpider)
    stats, ban = crawler.stats.get_stats(), crawler.spider.profile.ban
    fresh = stats.get(NEW_ITEMS, 0) + stats.get(EDITED_ITEMS, 0)
    bans = stats.get(BAN_PAGES, 0) + sum(count for status, count in summary["http_errors"].items()
                                         if int(status) in ban.statuses)
    return summary | {
        "items": fresh + stats.get(KNOWN_ITEMS, 0), "new_items": fresh,
        "bans_suspected": bans, "ok": summary["ok"] and not bans,
        "started_at": _iso(stats.get("start_time")), "finished_at": _iso(stats.get("finish_time"))}


def _iso(moment: datetime | None) -> str:
    """Scrapy's times (UTC) as JSON-friendly text; now, for a crawl stopped before it said."""
    return (moment or datetime.now(UTC)).replace(tzinfo=UTC).isoformat()


def record_run(database_url: str, profile: Profile, summary: dict[str, Any]) -> None:
    """The crawl's row in the store (``yuqing crawls``), and the source's crawl-health alerts
    brought up to date with it (:mod:`crawlers.health`)."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            session.add(CrawlRun(
                profile_id=profile.id,
                started_at=datetime.fromisoformat(summary["started_at"]),
                finished_at=datetime.fromisoformat(summary["finished_at"]),
                pages=summary["pages"], items=summary["items"], new_items=summary["new_items"],
                dead_letters=summary["dead_letters"], undelivered=summary["undelivered"],
                http_errors=summary["http_errors"], retries=summary["retries"],
                bans_suspected=summary["bans_suspected"],
                finish_reason=summary["finish_reason"], ok=summary["ok"]))
            session.flush()
            update_alerts(session, profile)
    finally:
        engine.dispose()


def crawl_summary_problems(summary: dict[str, dict[str, Any]]) -> list[str]:
    """One line per thing an operator should look at after a crawl, worst first."""
    problems = []
    for name, result in summary.items():
        if undelivered := result["undelivered"]:
            problems.append(f"{name}: {undelivered} {'message' if undelivered == 1 else 'messages'}"
                            f" not delivered to Kafka, listed in {result['undelivered_file']}; "
                            "crawling again delivers them (comments already delivered are "
                            "harmless duplicates: the store keeps one alert per comment id)")
        if lost := result["failed_requests"]:
            why = ", ".join(f"{count} {reason}" for reason, count in result["reasons"].items())
            problems.append(f"{name}: {lost} {'page' if lost == 1 else 'pages'} never fetched: "
                            f"{why}")
        if result["errors"]:
            problems.append(f"{name}: {result['errors']} errors raised in its callbacks or item "
                            "pipelines (run with -v for details)")
        if result["finish_reason"] != "finished":
            problems.append(f"{name}: stopped early ({result['finish_reason']})")
        if undated := result["undated"]:
            problems.append(f"{name}: {undated} comments kept without a date: the site's date "
                            "was not understood (the crawl log names each)")
        if bans := result.get("bans_suspected"):  # profile crawls count them
            problems.append(f"{name}: {bans} responses look like a ban (a ban status, or a "
                            "captcha or login page): slow the profile down or renew its cookies")
        if result["dead_letters"]:
            problems.append(f"{name}: {result['dead_letters']} invalid items went to dead "
                            "letters; `yuqing dead-letters --stage crawl` shows why once the "
                            "job has stored them")
    return problems


def crawl(spider_names: list[str], settings: Settings, profiles: Sequence[Profile] = (),
          **spider_kwargs: str) -> dict[str, Any]:
    """Run the named spiders and one generic spider per profile side by side until all finish
    (blocking); a summary per spider, keyed by its name or its profile's id.

    Raises :class:`pipeline.errors.BrokerUnreachable` before fetching anything if no broker
    answers (every item would be lost), and the store's error if profiles are to be crawled and
    the store is unreachable or not migrated (their crawls keep what they have seen there).
    """
    check_broker(settings)
    for profile in profiles:
        profile.check_secrets()
    if profiles:  # their crawls keep what they have seen in the store
        engine = make_engine(settings.database_url)
        try:
            check_store(engine)
        finally:
            engine.dispose()
    config = scrapy_settings(settings)
    config.set("LOG_INSTALL_ROOT_HANDLER", not logging.getLogger().handlers)
    if logging.getLogger().isEnabledFor(logging.DEBUG):  # `yuqing -v crawl`
        config.set("LOG_LEVEL", "DEBUG")
    process = CrawlerProcess(config)
    # Scrapy's logging setup resets its logger to DEBUG; under a caller's own logging (the
    # CLI's) keep it at the crawl's level instead.
    logging.getLogger("scrapy").setLevel(config["LOG_LEVEL"])
    crawlers = {}
    for name in spider_names:
        crawlers[name] = process.create_crawler(name)
        process.crawl(crawlers[name], **spider_kwargs)
    for profile in profiles:
        crawlers[profile.id] = process.create_crawler(ProfileSpider)
        process.crawl(crawlers[profile.id], profile=profile)
    process.start()
    summary = {name: summarize(crawler, settings) for name, crawler in crawlers.items()}
    for profile in profiles:
        summary[profile.id] = profile_summary(crawlers[profile.id], summary[profile.id])
        record_run(settings.database_url, profile, summary[profile.id])
    for name, result in summary.items():
        log.info("%s: %d pages, %d comments produced, %d dead letters, %d pages never fetched",
                 name, result["pages"], result["produced"], result["dead_letters"],
                 result["failed_requests"])
    return summary
