"""A crawl while the broker goes away: every comment is delivered or reported as not delivered.

The Apache Kafka tests SIGKILL the session broker under a running ``yuqing crawl`` and start it
again on the same port and data; each uses its own topics, and the ``restarted`` fixture leaves
the broker running. The demo site answers slowly, so that the crawl is still going when the
broker dies.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from crawlers.items import CommentItem
from crawlers.pipelines import PRODUCED, UNDELIVERED, KafkaPipeline
from crawlers.run import crawl_summary_problems
from crawlers.spiders.demo_reviews import DemoReviewsSpider
from devkit.demosite.comments import DemoComment
from devkit.demosite.server import DemoSite
from pipeline.broker import EmbeddedBroker
from pipeline.config import Settings
from pipeline.kafka import ensure_topics
from pipeline.kafka_server import KafkaServer
from pipeline.records import make_id, parse_record
from tests.crawlers.command import yuqing
from tests.crawlers.topics import message_count, read_topic
from tests.utils.background import InThread, wait_until
from tests.utils.brokers import own_topics

SPIDERS = ("demo_reviews", "demo_api")


def _between_pages(count: int) -> bool:
    """Whole pages of the demo API (100 comments each, the last 75) acknowledged, two at least
    and not the last."""
    return count >= 200 and count % 100 == 0


def _keys(settings: Settings) -> set[str]:
    return {message.key.decode() for message in read_topic(settings, settings.topic_comments)}


def _crawl(settings: Settings, site: DemoSite, *spiders: str,
           extra_env: dict[str, str] | None = None) -> InThread:
    return InThread(lambda: yuqing(settings, "crawl", *spiders, "--base-url", site.base_url,
                                   extra_env=extra_env))


def _ended(crawl: InThread) -> subprocess.CompletedProcess[str]:
    assert crawl.join(240), "the crawl did not end"
    if crawl.error is not None:
        raise crawl.error
    done: subprocess.CompletedProcess[str] = crawl.result
    return done


@pytest.mark.integration
def test_a_broker_killed_and_restarted_mid_crawl_loses_nothing(
    restarted: KafkaServer, comments: list[DemoComment]
) -> None:
    settings = own_topics(restarted.bootstrap, "crawl-through-restart")
    with DemoSite(comments, delay_s=0.2) as site:
        crawl = _crawl(settings, site, *SPIDERS)
        wait_until(lambda: message_count(settings, settings.topic_comments) >= 100, 60,
                   "the crawl's first messages")
        restarted.kill()
        assert not crawl.join(3), "the crawl ended while the broker was down"
        restarted.start()
        done = _ended(crawl)

    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["demo_reviews"]["produced"] == len(site.html)
    assert summary["demo_api"]["produced"] == len(site.api)
    assert all(result["undelivered"] == 0 for result in summary.values())
    assert _keys(settings) == {comment.record_id for comment in comments}  # duplicates allowed


@pytest.mark.integration
def test_what_was_not_delivered_is_listed_and_a_second_crawl_delivers_it(
    restarted: KafkaServer, comments: list[DemoComment], demo_site: DemoSite, tmp_path: Path
) -> None:
    settings = own_topics(restarted.bootstrap, "crawl-past-timeout")
    # Short timeouts, so the messages expire while the broker is still down.
    env = {"YUQING_KAFKA_TIMEOUT_S": "2", "YUQING_KAFKA_DELIVERY_TIMEOUT_S": "4",
           "YUQING_DATA_DIR": str(tmp_path)}
    api_ids = {comment.record_id for comment in demo_site.api}
    with DemoSite(comments, delay_s=1.0) as site:
        crawl = _crawl(settings, site, "demo_api", extra_env=env)
        # Killed between two pages (all of a page acknowledged, the next a second away), so no
        # message is in flight: one written but not acknowledged would be both on the topic
        # and in the list.
        wait_until(lambda: _between_pages(message_count(settings, settings.topic_comments)), 60,
                   "two whole pages of comments")
        restarted.kill()
        done = _ended(crawl)

    assert done.returncode == 1, done.stderr[-3000:]
    restarted.start()
    delivered = _keys(settings)
    result = json.loads(done.stdout)["demo_api"]
    assert result["undelivered"] == len(api_ids - delivered) > 0
    listing = Path(result["undelivered_file"])
    assert listing.parent == tmp_path / "undelivered"
    listed = [json.loads(line) for line in listing.read_text(encoding="utf-8").splitlines()]
    assert {line["key"] for line in listed} == api_ids - delivered
    assert len(listed) == result["undelivered"]
    for line in listed:
        assert line["topic"] == settings.topic_comments and line["error"]
        assert parse_record(line["value"].encode("utf-8")).id == line["key"]
    assert f"demo_api: {result['undelivered']} messages not delivered to Kafka, listed in " \
           f"{result['undelivered_file']}; crawling again delivers them" in done.stderr

    again = yuqing(settings, "crawl", "demo_api", "--base-url", demo_site.base_url,
                   extra_env={"YUQING_DATA_DIR": str(tmp_path)})
    assert again.returncode == 0, again.stderr[-3000:]
    assert _keys(settings) == api_ids


def _items(first: int, count: int) -> list[CommentItem]:
    return [CommentItem(source="demo-reviews", text=f"第{n}条：房间干净，服务周到",
                        native_id=f"r{n}", url=f"http://127.0.0.1/products/p01/reviews#review-r{n}")
            for n in range(first, first + count)]


@pytest.mark.integration
def test_a_producer_outlives_a_tansu_restart(broker: EmbeddedBroker, settings: Settings,
                                            tmp_path: Path) -> None:
    """tansu forgets the producer's id when it restarts; kafka-python's producer then fails every
    later send, so the pipeline must carry on with a fresh one."""
    settings = settings.model_copy(update={"data_dir": tmp_path})
    pipeline = KafkaPipeline.from_crawler(
        get_crawler(DemoReviewsSpider, {"YUQING_SETTINGS": settings}))
    produced = f"{PRODUCED}/{settings.topic_comments}"
    before, after = _items(0, 5), _items(5, 20)
    pipeline.open_spider()
    try:
        for item in before:
            pipeline.process_item(item)
        wait_until(lambda: pipeline.stats.get_value(produced) == len(before), 20,
                   "the first items' acknowledgements")
        broker.stop()
        broker.start()
        ensure_topics(settings)  # tansu kept nothing, topics included
        for item in after:
            pipeline.process_item(item)
    finally:
        pipeline.wait_for_delivery()

    assert pipeline.stats.get_value(produced) == len(before) + len(after)
    assert pipeline.stats.get_value(f"{UNDELIVERED}/{settings.topic_comments}") is None
    assert _keys(settings) == {make_id("demo-reviews", item.native_id) for item in after}
    assert not (tmp_path / "undelivered").exists()


def test_the_problem_line_names_the_list_and_says_a_second_crawl_delivers_it() -> None:
    summary = {"demo_api": {"undelivered": 3, "undelivered_file": "/d/undelivered/x.jsonl",
                            "errors": 0, "failed_requests": 0, "reasons": {}, "undated": 0,
                            "finish_reason": "finished", "dead_letters": 0, "ok": False}}
    (problem,) = crawl_summary_problems(summary)
    assert problem.startswith("demo_api: 3 messages not delivered to Kafka, listed in "
                              "/d/undelivered/x.jsonl; crawling again delivers them")
