"""The item pipeline that turns scraped items into comment records on Kafka.

Validation happens here, on the exact bytes that go on the wire, with the same
:func:`pipeline.records.parse_record` the stream job uses on the other end. A valid record is
produced to the comments topic keyed by its stable id; an invalid item becomes a
:class:`pipeline.records.DeadLetter` with the reason, so nothing is dropped silently.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Self

from itemadapter import ItemAdapter
from kafka import KafkaProducer
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from pipeline.config import Settings, get_settings
from pipeline.kafka import make_producer
from pipeline.records import DeadLetter, RecordError, make_id, parse_record

log = logging.getLogger(__name__)


def item_payload(item: Any) -> dict[str, Any]:
    """The item's fields as a record payload, with the stable id made from the native id.

    The id is null when the item lacks what it is made from, which validation then reports.
    """
    fields = ItemAdapter(item).asdict()
    native_id = fields.pop("native_id", None)
    source, text = fields.get("source"), fields.get("text")
    fields["id"] = None
    if isinstance(source, str) and source.strip() and (native_id or isinstance(text, str)):
        fields["id"] = make_id(source.strip(), str(native_id) if native_id else None, text)
    return fields


class KafkaPipeline:
    """Produces valid comments to ``topic_comments`` and invalid ones to ``topic_dead_letters``.

    It never switches itself off with ``NotConfigured``: a crawl without it would lose every
    item, so a missing or unreachable broker fails the spider loudly in ``open_spider`` instead.
    """

    def __init__(self, settings: Settings, stats: StatsCollector) -> None:
        self.settings = settings
        self.stats = stats
        self.producer: KafkaProducer | None = None
        self._stats_lock = threading.Lock()  # delivery callbacks run on the producer's thread

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None, "crawler has no stats collector"
        return cls(crawler.settings.get("YUQING_SETTINGS") or get_settings(), crawler.stats)

    def open_spider(self) -> None:
        self.producer = make_producer(self.settings)

    def close_spider(self) -> None:
        if self.producer is None:
            return
        try:
            self.producer.flush(timeout=self.settings.kafka_timeout_s)
        finally:
            self.producer.close(timeout=self.settings.kafka_timeout_s)
            self.producer = None

    def process_item(self, item: Any) -> Any:
        payload = item_payload(item)
        raw = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
        try:
            record = parse_record(raw)
        except RecordError as exc:
            letter = DeadLetter(stage="crawl", reason=exc.reason, raw=raw, record_id=payload["id"])
            self._produce(self.settings.topic_dead_letters, None, letter.model_dump_json().encode())
            raise DropItem(f"invalid comment, sent to dead letters: {exc.reason}") from exc
        self._produce(self.settings.topic_comments, record.kafka_key(), record.kafka_value())
        return item

    def _produce(self, topic: str, key: bytes | None, value: bytes) -> None:
        assert self.producer is not None, "process_item called before open_spider"
        future = self.producer.send(topic, key=key, value=value)
        future.add_callback(self._count, f"yuqing/produced/{topic}")
        future.add_errback(self._failed, topic, key)

    def _count(self, stat: str, _metadata: object = None) -> None:
        with self._stats_lock:
            self.stats.inc_value(stat)

    def _failed(self, topic: str, key: bytes | None, exc: BaseException) -> None:
        log.error("could not produce %r to %s: %s", key, topic, exc)
        self._count(f"yuqing/failed/{topic}")
