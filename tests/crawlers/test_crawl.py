"""End to end: ``yuqing crawl`` over the demo site puts every comment on Kafka exactly once."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from devkit.demosite.comments import DemoComment
from devkit.demosite.server import DemoSite
from pipeline.broker import free_port
from pipeline.config import Settings
from pipeline.records import parse_record
from tests.crawlers.command import yuqing
from tests.crawlers.topics import read_topic

pytestmark = pytest.mark.integration


def test_every_demo_comment_arrives_once_as_a_valid_record(
    settings: Settings, demo_site: DemoSite, comments: list[DemoComment]
) -> None:
    done = yuqing(settings, "crawl", "demo_reviews", "demo_api", "--base-url", demo_site.base_url)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(done.stderr.splitlines()) <= 3, done.stderr  # a summary line per spider, no noise
    summary = json.loads(done.stdout)
    assert summary["demo_reviews"]["produced"] == len(demo_site.html)
    assert summary["demo_api"]["produced"] == len(demo_site.api)

    messages = read_topic(settings, settings.topic_comments)
    assert Counter(m.key.decode() for m in messages) == Counter(c.record_id for c in comments)
    records = {m.key.decode(): parse_record(m.value) for m in messages}
    for comment in comments:
        record = records[comment.record_id]
        assert (record.source, record.text, record.author, record.published_at) == (
            comment.source,
            comment.text,
            comment.author,
            comment.published_at,
        )
    assert read_topic(settings, settings.topic_dead_letters) == []


def test_unknown_spider_is_refused() -> None:
    done = yuqing(Settings(kafka_bootstrap=f"127.0.0.1:{free_port()}"), "crawl", "no_such_spider")
    assert done.returncode == 2 and "no_such_spider" in done.stderr
