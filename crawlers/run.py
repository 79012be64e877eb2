"""Run spiders to completion in this process and report what each one produced.

Twisted's reactor starts once per process, so :func:`crawl` can be called only once in a
process; tests and the demo orchestrator run it through ``yuqing crawl`` in a subprocess.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.spiderloader import SpiderLoader

from crawlers.settings import scrapy_settings
from pipeline.config import Settings


def available_spiders(settings: Settings) -> list[str]:
    return sorted(SpiderLoader.from_settings(scrapy_settings(settings)).list())


def summarize(crawler: Crawler, settings: Settings) -> dict[str, Any]:
    """The numbers an operator checks after a crawl; ``ok`` is false if anything was lost."""
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    failed = sum(
        stats.get(f"yuqing/failed/{topic}", 0)
        for topic in (settings.topic_comments, settings.topic_dead_letters)
    )
    summary = {
        "pages": stats.get("response_received_count", 0),
        "produced": stats.get(f"yuqing/produced/{settings.topic_comments}", 0),
        "dead_letters": stats.get(f"yuqing/produced/{settings.topic_dead_letters}", 0),
        "dropped": stats.get("item_dropped_count", 0),
        "produce_failed": failed,
        "errors": stats.get("log_count/ERROR", 0) + stats.get("log_count/CRITICAL", 0),
        "finish_reason": stats.get("finish_reason"),
    }
    summary["ok"] = summary["finish_reason"] == "finished" and not failed and not summary["errors"]
    return summary


def crawl(spider_names: list[str], settings: Settings, **spider_kwargs: str) -> dict[str, Any]:
    """Run the named spiders side by side until all finish (blocking); a summary per spider."""
    config = scrapy_settings(settings)
    config.set("LOG_INSTALL_ROOT_HANDLER", not logging.getLogger().handlers)
    process = CrawlerProcess(config)
    # Scrapy's logging setup resets its logger to DEBUG; under a caller's own logging (the
    # CLI's) keep it at the crawl's level instead.
    logging.getLogger("scrapy").setLevel(config["LOG_LEVEL"])
    crawlers = {}
    for name in spider_names:
        crawlers[name] = process.create_crawler(name)
        process.crawl(crawlers[name], **spider_kwargs)
    process.start()
    return {name: summarize(crawler, settings) for name, crawler in crawlers.items()}
