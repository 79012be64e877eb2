"""The Scrapy settings take the operator's values from the one Settings object."""

from __future__ import annotations

from crawlers.run import available_spiders
from crawlers.settings import scrapy_settings
from pipeline.config import Settings


def test_operator_settings_reach_scrapy() -> None:
    app = Settings(http_timeout_s=4.5, http_retries=1)
    config = scrapy_settings(app)
    assert config.getfloat("DOWNLOAD_TIMEOUT") == 4.5
    assert config.getint("RETRY_TIMES") == 1
    assert config["YUQING_SETTINGS"] is app
    assert config.getbool("ROBOTSTXT_OBEY")
    assert not config.getbool("TELNETCONSOLE_ENABLED")
    assert config.getdict("ITEM_PIPELINES") == {"crawlers.pipelines.KafkaPipeline": 800}


def test_the_page_ledger_sees_both_ends_of_every_request() -> None:
    """Outermost downloader middleware (after retries), innermost spider one (after HttpError)."""
    config = scrapy_settings(Settings())
    downloader = config.get_component_priority_dict_with_base("DOWNLOADER_MIDDLEWARES")
    spider = config.get_component_priority_dict_with_base("SPIDER_MIDDLEWARES")
    ours = "crawlers.extensions.PageLedgerMiddleware"
    assert downloader[ours] < min(p for name, p in downloader.items() if name != ours)
    assert spider[ours] > max(p for name, p in spider.items() if name != ours)
    assert "crawlers.extensions.PageLedger" in config.getdict("EXTENSIONS")


def test_both_demo_spiders_are_registered() -> None:
    assert available_spiders(Settings()) == ["demo_api", "demo_reviews"]
