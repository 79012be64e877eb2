"""KafkaPipeline against a real broker: valid items become records, invalid ones dead letters."""

from __future__ import annotations

import json

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy.orm import Session

from crawlers.items import CommentItem
from crawlers.pipelines import KafkaPipeline
from crawlers.run import crawl_summary_problems
from crawlers.spiders.demo_reviews import DemoReviewsSpider
from pipeline.config import Settings
from pipeline.records import DeadLetter, make_id, parse_record
from pipeline.store.engine import make_engine
from pipeline.store.queries import select_dead_letters
from pipeline.stream.run import run
from tests.crawlers.topics import read_topic

pytestmark = pytest.mark.integration

VALID = CommentItem(
    source="demo-reviews",
    url="http://127.0.0.1/products/p01/reviews#review-r1",
    text="房间干净，服务周到",
    native_id="r1",
    author="用户1",
    published_at="2024-03-05T14:22:00+08:00",
)
NO_NATIVE_ID = CommentItem(source="demo-api", url="http://127.0.0.1/api/x", text="屏幕有坏点")
NO_TEXT = CommentItem(source="demo-reviews", url="http://127.0.0.1/p?page=2", text=None)
BAD_DATE = CommentItem(source="demo-api", url="http://127.0.0.1/a", text="好", published_at="昨天")


def run_pipeline(settings: Settings, *items: CommentItem) -> tuple[KafkaPipeline, list[str]]:
    crawler = get_crawler(DemoReviewsSpider, {"YUQING_SETTINGS": settings})
    pipeline = KafkaPipeline.from_crawler(crawler)
    pipeline.open_spider()
    drops = []
    try:
        for item in items:
            try:
                assert pipeline.process_item(item) is item
            except DropItem as exc:
                drops.append(str(exc))
    finally:
        pipeline.wait_for_delivery()
    return pipeline, drops


def test_valid_items_are_produced_keyed_by_their_stable_id(settings: Settings) -> None:
    pipeline, drops = run_pipeline(settings, VALID, NO_NATIVE_ID)
    assert drops == []
    messages = read_topic(settings, settings.topic_comments)
    by_key = {message.key.decode(): parse_record(message.value) for message in messages}
    assert sorted(by_key) == sorted(
        [make_id("demo-reviews", "r1"), make_id("demo-api", text="屏幕有坏点")]
    )
    record = by_key["demo-reviews:r1"]
    assert (record.text, record.author, record.url) == (VALID.text, VALID.author, VALID.url)
    assert record.published_at is not None and record.published_at.isoformat() == VALID.published_at
    assert pipeline.stats.get_value(f"yuqing/produced/{settings.topic_comments}") == 2
    assert read_topic(settings, settings.topic_dead_letters) == []


def test_invalid_items_go_to_dead_letters_with_the_reason(settings: Settings) -> None:
    pipeline, drops = run_pipeline(settings, NO_TEXT, VALID, BAD_DATE)
    assert len(drops) == 2 and all("sent to dead letters" in drop for drop in drops)
    letters = [
        DeadLetter.model_validate_json(m.value)
        for m in read_topic(settings, settings.topic_dead_letters)
    ]
    reasons = {json.loads(letter.raw)["url"]: letter.reason for letter in letters}
    assert set(reasons) == {NO_TEXT.url, BAD_DATE.url}
    assert "id" in reasons[NO_TEXT.url] and "text" in reasons[NO_TEXT.url]
    assert "published_at" in reasons[BAD_DATE.url]
    assert {letter.stage for letter in letters} == {"crawl"}
    assert [m.key for m in read_topic(settings, settings.topic_comments)] == [b"demo-reviews:r1"]
    assert pipeline.stats.get_value(f"yuqing/produced/{settings.topic_dead_letters}") == 2


def test_the_job_stores_the_crawlers_dead_letters_where_operators_look(settings: Settings
                                                                      ) -> None:
    run_pipeline(settings, BAD_DATE, VALID)
    run(["--until-idle=2"], settings)
    with Session(make_engine(settings.database_url)) as session:
        (letter,) = select_dead_letters(session, stage="crawl")
    assert json.loads(letter.raw)["published_at"] == BAD_DATE.published_at
    assert "published_at" in letter.reason and letter.kafka_topic == settings.topic_dead_letters


def test_a_crawl_that_dead_lettered_items_says_so() -> None:
    summary = {"demo_api": {"undelivered": 0, "errors": 0, "failed_requests": 0, "reasons": {},
                            "undated": 0, "finish_reason": "finished", "dead_letters": 2,
                            "ok": True}}
    (problem,) = crawl_summary_problems(summary)
    assert "demo_api: 2 invalid items went to dead letters" in problem
    assert "yuqing dead-letters --stage crawl" in problem
