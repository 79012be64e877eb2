"""Scrapy settings for every Yuqing spider.

The constants below are the project's static defaults, polite enough for real sites (robots.txt
obeyed, AutoThrottle, a download delay). What an operator configures (timeouts, retries, the
Kafka cluster) comes from :class:`pipeline.config.Settings`, overlaid by :func:`scrapy_settings`
so that a setting has one name and one default across the whole system.
"""

from __future__ import annotations

from scrapy.settings import Settings as ScrapySettings

from pipeline.config import Settings

BOT_NAME = "yuqing"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"
USER_AGENT = "yuqing-crawler/0.1 (review sentiment monitoring)"

ROBOTSTXT_OBEY = True
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True

ITEM_PIPELINES = {"crawlers.pipelines.KafkaPipeline": 800}
# Counts, per spider, the pages that never reached a callback (redirect loops, retries given up,
# duplicates of unparsed pages): a crawl that lost pages fails. The middleware sits outermost in
# the downloader (after retries) and innermost for the spider (after HttpError filtering).
EXTENSIONS = {"crawlers.extensions.PageLedger": 0}
DOWNLOADER_MIDDLEWARES = {"crawlers.extensions.PageLedgerMiddleware": 10}
SPIDER_MIDDLEWARES = {"crawlers.extensions.PageLedgerMiddleware": 1100}
# Scrapy's INFO lines (every middleware, stats dumps) drown what matters; the crawl's summary
# says what happened, and `yuqing -v crawl` shows everything.
LOG_LEVEL = "WARNING"


def scrapy_settings(settings: Settings) -> ScrapySettings:
    """This module's settings with the operator's values applied on top.

    ``YUQING_SETTINGS`` carries the whole settings object to components such as
    :class:`crawlers.pipelines.KafkaPipeline`, which read it in ``from_crawler``.
    """
    result = ScrapySettings()
    result.setmodule(__name__, priority="project")
    result.setdict(
        {
            "DOWNLOAD_TIMEOUT": settings.http_timeout_s,
            "RETRY_TIMES": settings.http_retries,
            "YUQING_SETTINGS": settings,
        },
        priority="project",
    )
    return result
