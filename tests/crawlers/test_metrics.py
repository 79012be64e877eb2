"""The crawl counters, as a metrics system scrapes them."""

from __future__ import annotations

from prometheus_client import generate_latest

from crawlers import metrics


def test_a_crawl_s_summary_is_counted_per_profile() -> None:
    summary = {"pages": 12, "items": 200, "new_items": 30, "produced": 29, "dead_letters": 1,
               "undelivered": 0, "failed_requests": 2, "retries": 4, "bans_suspected": 1,
               "undated": 3, "http_errors": {"503": 4},
               "scrapy_stats": {"downloader/request_count": 16, "elapsed_time_seconds": 2.5}}
    metrics.observe("metrics-test", "ok", 2.5, summary, ended_at=1_800_000_000.0)
    metrics.observe("metrics-test", "crashed", 1.0, None, ended_at=1_800_000_100.0)
    metrics.observe("metrics-test", "ok", 2.0, summary, ended_at=1_800_000_200.0)

    text = generate_latest(metrics.REGISTRY).decode()
    for line in (
        'yuqing_crawls_total{outcome="ok",profile="metrics-test"} 2.0',
        'yuqing_crawls_total{outcome="crashed",profile="metrics-test"} 1.0',
        'yuqing_crawl_pages_total{profile="metrics-test"} 24.0',
        'yuqing_crawl_new_items_total{profile="metrics-test"} 60.0',
        'yuqing_crawl_http_errors_total{profile="metrics-test",status="503"} 8.0',
        'yuqing_crawl_scrapy_stat_total{profile="metrics-test",'
        'stat="downloader/request_count"} 32.0',
        'yuqing_crawl_duration_seconds_count{profile="metrics-test"} 3.0',
        'yuqing_crawl_last_success_timestamp_seconds{profile="metrics-test"} 1.8000002e+09',
    ):
        assert line in text
