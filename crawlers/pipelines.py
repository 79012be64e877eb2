"""The item pipeline that turns scraped items into comment records on Kafka.

Validation happens here, on the exact bytes that go on the wire, with the same
:func:`pipeline.records.parse_record` the stream job uses on the other end. A valid record is
produced to the comments topic keyed by its stable id; an invalid item becomes a
:class:`pipeline.records.DeadLetter` with the reason, so nothing is dropped silently.

Every message is counted exactly once: delivered (Kafka acknowledged it) or not delivered (it
was not acknowledged within ``kafka_delivery_timeout_s``, retries and a fresh producer after a
broker restart included; see :class:`pipeline.kafka.Outbox`). A broker that restarts within the
delivery timeout loses nothing. Each message not delivered is written, one JSON line with its
topic, key, exact value and the error, to ``DATA_DIR/undelivered/<spider>-<UTC time>.jsonl``,
and the crawl fails. Crawling again delivers them: the store keeps one alert per comment id,
so a comment that reaches Kafka twice (a retry whose first acknowledgement was lost, or a second
crawl) still makes one alert.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TextIO

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.signalmanager import SignalManager
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from pipeline.config import Settings, get_settings
from pipeline.kafka import Message, Outbox
from pipeline.records import DeadLetter, RecordError, make_id, parse_record

log = logging.getLogger(__name__)

# Stats keys; crawlers.run reads them back.
PRODUCED = "yuqing/produced"
UNDELIVERED = "yuqing/undelivered"
UNDELIVERED_FILE = "yuqing/undelivered_file"

comment_delivered = object()
"""Signal: Kafka acknowledged the message of comment ``comment_id`` (the comment, or its dead
letter). Sent on the producer's thread, as the acknowledgement arrives: receivers must be
thread-safe and quick (:class:`crawlers.spiders.profile.ProfileSpider` queues the id)."""


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

    def __init__(self, settings: Settings, stats: StatsCollector, spider: str,
                 signals: SignalManager | None = None) -> None:
        self.settings = settings
        self.stats = stats
        self.signals = signals
        self.undelivered_path: Path = (settings.data_dir / "undelivered"
                                       / f"{spider}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.jsonl")
        self.outbox: Outbox | None = None
        self._lock = threading.Lock()  # outcomes arrive on the producers' threads
        self._undelivered_file: TextIO | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        assert crawler.stats is not None, "crawler has no stats collector"
        # A profile spider's name is its profile's id (the class is shared by every profile).
        name = crawler.spider.name if crawler.spider else crawler.spidercls.name
        return cls(crawler.settings.get("YUQING_SETTINGS") or get_settings(), crawler.stats,
                   name, crawler.signals)

    def open_spider(self) -> None:
        self.outbox = Outbox(self.settings,
                             [self.settings.topic_comments, self.settings.topic_dead_letters],
                             delivered=self._delivered, undelivered=self._not_delivered)
        self.outbox.open()

    async def close_spider(self) -> None:
        # In a thread: the wait may last the whole delivery timeout, and the other spiders of
        # the crawl must go on meanwhile.
        await maybe_deferred_to_future(deferToThread(self.wait_for_delivery))

    def wait_for_delivery(self) -> None:
        """Block until every message is delivered or reported as not delivered."""
        if self.outbox is None:
            return
        try:
            self.outbox.close()
        finally:
            self.outbox = None
            with self._lock:
                if self._undelivered_file is not None:
                    self._undelivered_file.close()
                    self._undelivered_file = None

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
        assert self.outbox is not None, "process_item called before open_spider"
        self.outbox.send(Message(topic, key, value))

    def _delivered(self, message: Message) -> None:
        with self._lock:
            self.stats.inc_value(f"{PRODUCED}/{message.topic}")
        if self.signals is None:
            return
        comment_id = (message.key.decode("utf-8") if message.topic == self.settings.topic_comments
                      and message.key is not None
                      else json.loads(message.value).get("record_id"))
        if comment_id is not None:
            self.signals.send_catch_log(comment_delivered, comment_id=comment_id)

    def _not_delivered(self, message: Message, error: str) -> None:
        log.debug("not delivered to %s: %r (%s)", message.topic, message.key, error)
        line = json.dumps({
            "topic": message.topic,
            "key": message.key.decode("utf-8") if message.key is not None else None,
            "value": message.value.decode("utf-8"),
            "error": error,
        }, ensure_ascii=False)
        with self._lock:
            # Counted first: a list that cannot be written must not hide the count.
            self.stats.inc_value(f"{UNDELIVERED}/{message.topic}")
            if self._undelivered_file is None:
                self.stats.set_value(UNDELIVERED_FILE, str(self.undelivered_path))
                self.undelivered_path.parent.mkdir(parents=True, exist_ok=True)
                self._undelivered_file = self.undelivered_path.open("a", encoding="utf-8")
                log.warning("messages Kafka did not acknowledge are listed in %s",
                            self.undelivered_path)
            self._undelivered_file.write(line + "\n")
            self._undelivered_file.flush()  # a crawl killed later still leaves its list
