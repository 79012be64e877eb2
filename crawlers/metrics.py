"""The crawl counters a metrics system scrapes (Prometheus' text format, via prometheus-client).

They are counted by the scheduler from each crawl's summary (:func:`observe`), because every
crawl runs in a process of its own that ends with the crawl; the scheduler lives on.
``yuqing schedule --metrics-port`` serves them; ``--once`` writes them to a file for the
node exporter's textfile collector. The counters are per profile; Scrapy's own stats are
exported too, as ``yuqing_crawl_scrapy_stat_total`` by stat name, for what the curated ones
leave out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
"""The crawl metrics, apart from the process's default ones (the API adds its own)."""

_PROFILE = ("profile",)
CRAWLS = Counter("yuqing_crawls", "Crawls finished, by outcome: ok, failed (the crawl said "
                 "what went wrong), crashed (it ended without a summary), skipped (the "
                 "profile's previous crawl still ran).", ("profile", "outcome"), registry=REGISTRY)
RUNNING = Gauge("yuqing_crawl_running", "Crawls of the profile running now.", _PROFILE,
                registry=REGISTRY)
DURATION = Histogram("yuqing_crawl_duration_seconds", "Wall time of each crawl process.",
                     _PROFILE, registry=REGISTRY,
                     buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, float("inf")))
LAST_SUCCESS = Gauge("yuqing_crawl_last_success_timestamp_seconds",
                     "When the profile's last ok crawl ended (Unix time).", _PROFILE,
                     registry=REGISTRY)
HTTP_ERRORS = Counter("yuqing_crawl_http_errors", "Responses with an error status, retried "
                      "ones included.", ("profile", "status"), registry=REGISTRY)
SCRAPY_STATS = Counter("yuqing_crawl_scrapy_stat", "Scrapy's numeric crawl stats, summed over "
                       "crawls.", ("profile", "stat"), registry=REGISTRY)

# Summary key → counter: what each crawl adds.
_SUMMED = {
    key: Counter(f"yuqing_crawl_{key}", help_text, _PROFILE, registry=REGISTRY)
    for key, help_text in {
        "pages": "Pages fetched.",
        "items": "Comments found on the pages.",
        "new_items": "New or edited comments found (what is sent to Kafka).",
        "produced": "Comments Kafka acknowledged.",
        "dead_letters": "Invalid comments sent to the dead-letter topic.",
        "undelivered": "Messages Kafka did not acknowledge (listed under DATA_DIR/undelivered).",
        "failed_requests": "Pages that never reached the spider (lost).",
        "retries": "Requests retried.",
        "bans_suspected": "Responses that looked like a ban (status or captcha/login page).",
        "undated": "Comments kept without a date the crawler could read.",
    }.items()
}


def observe(profile_id: str, outcome: str, seconds: float, summary: Mapping[str, Any] | None,
            ended_at: float) -> None:
    """Counts one crawl; ``summary`` is what ``yuqing crawl`` printed for the profile (None when
    it printed none)."""
    CRAWLS.labels(profile_id, outcome).inc()
    DURATION.labels(profile_id).observe(seconds)
    if outcome == "ok":
        LAST_SUCCESS.labels(profile_id).set(ended_at)
    if summary is None:
        return
    for key, counter in _SUMMED.items():
        counter.labels(profile_id).inc(summary.get(key) or 0)
    for status, count in summary.get("http_errors", {}).items():
        HTTP_ERRORS.labels(profile_id, status).inc(count)
    for stat, value in summary.get("scrapy_stats", {}).items():
        if value >= 0:  # a counter only goes up
            SCRAPY_STATS.labels(profile_id, stat).inc(value)
