"""What the job is fed when it is being tested: real comments at any count, and hostile messages.

The record tests, the job's tests and the fault bench (``yuqing bench faults``) share these, so
a kind of hostile message added here is checked by all three: by the parser alone, by the job
end to end, and by the bench at volume.

Each hostile kind carries the phrase its dead letter's reason must contain, which is how a test
tells "refused for the right reason" from "refused by accident".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

from models.data import load_examples
from pipeline.config import Settings
from pipeline.kafka import make_producer
from pipeline.records import CommentRecord, make_id

# Room for the multi-MB kinds below, which a producer and a broker refuse by default.
LARGE_MESSAGE_BYTES = 16 << 20


class HostileKind(NamedTuple):
    name: str
    raw: bytes | None  # the Kafka message value; None is a tombstone
    reason: str  # a phrase the dead letter's reason must contain


def record_json(**overrides: object) -> bytes:
    """A valid record's JSON with some fields replaced; ``None`` leaves a field out."""
    fields = {"id": "h:1", "source": "h", "url": "http://127.0.0.1/h/1", "text": "太差了"}
    fields.update(overrides)
    return json.dumps({k: v for k, v in fields.items() if v is not None}).encode()


def _with_text(raw_json_text: bytes) -> bytes:
    """A record whose ``text`` is given as raw JSON, not a Python value."""
    return b'{"id": "h:2", "source": "h", "url": "http://127.0.0.1/h/2", "text": ' + (
        raw_json_text + b"}")


DEEP = 100_000
HUGE_INT = b"9" * 5000

# What the record parser must refuse, each with a one-line reason.
HOSTILE: list[HostileKind] = [HostileKind(*kind) for kind in [
    ("open arrays", b"[" * DEEP, "nested too deeply"),
    ("open objects", b'{"a": ' * DEEP, "nested too deeply"),
    ("closed arrays in a field", _with_text(b"[" * DEEP + b"]" * DEEP), "nested too deeply"),
    ("closed objects in a field", _with_text(b'{"a": ' * DEEP + b"1" + b"}" * DEEP),
     "nested too deeply"),
    ("huge integer alone", HUGE_INT, "number in the JSON is too long"),
    ("huge negative integer in a field", _with_text(b"-" + HUGE_INT),
     "number in the JSON is too long"),
    ("huge integer as an unknown field", record_json()[:-1] + b', "likes": ' + HUGE_INT + b"}",
     "number in the JSON is too long"),
    ("text over the limit", record_json(text="差" * 100_001), "at most 100000 characters"),
    ("multi-MB text", record_json(text="差" * 1_500_000), "at most 100000 characters"),
    ("multi-MB string alone", json.dumps("x" * 3_000_000).encode(), "not a JSON object but str"),
    ("id over the limit", record_json(id="i" * 513), "id: String should have at most 512"),
    ("null", b"null", "not a JSON object but NoneType"),
    ("true", b"true", "not a JSON object but bool"),
    ("integer", b"1", "not a JSON object but int"),
    ("float", b"1.5", "not a JSON object but float"),
    ("string", b'"s"', "not a JSON object but str"),
    ("empty array", b"[]", "not a JSON object but list"),
    ("empty object", b"{}", "id: Field required"),
    ("record encoded twice", json.dumps(record_json().decode()).encode(),
     "not a JSON object but str"),
    ("lone high surrogate in text", _with_text(b'"\\ud800"'), "text: Input should be a valid"),
    ("lone low surrogate in id", record_json(id=None)[:-1] + b', "id": "\\udc00"}',
     "id: Input should be a valid string"),
    ("raw control character", _with_text(b'"\x01\x07"'), "Invalid control character"),
    ("raw NUL byte", _with_text(b'"\x00"'), "Invalid control character"),
    ("escaped NUL", record_json(text="好\u0000"), "NUL"),
    ("NUL in the author", record_json(author="\u0000"), "author: contains a NUL"),
    ("invalid UTF-8", b'{"text": "\xff"}', "invalid UTF-8 at byte 10"),
    ("truncated UTF-8", record_json()[:-3] + b"\xe5\xa5", "invalid UTF-8"),
    ("UTF-8-encoded surrogate", _with_text(b'"\xed\xa0\x80"'), "invalid UTF-8"),
    ("UTF-16", record_json().decode().encode("utf-16"), "invalid UTF-8"),
    ("empty bytes", b"", "not JSON: Expecting value"),
    ("whitespace only", b" \n\t ", "not JSON: Expecting value"),
    ("BOM before a record", b"\xef\xbb\xbf" + record_json(), "not JSON: Unexpected UTF-8 BOM"),
    ("trailing garbage", record_json() + b" x", "not JSON: Extra data"),
    ("two records", record_json() + record_json(), "not JSON: Extra data"),
    ("text as a number", record_json(text=5), "text: Input should be a valid string"),
    ("text as NaN", _with_text(b"NaN"), "text: Input should be a valid string"),
    ("id as an object", record_json(id={"a": 1}), "id: Input should be a valid string"),
    ("url as a list", record_json(url=["http://x"]), "url: Input should be a valid string"),
    ("author as a boolean", record_json(author=True), "author: Input should be a valid string"),
    ("id only spaces", record_json(id="   "), "id: String should have at least 1 character"),
    ("published_at as a boolean", record_json(published_at=True),
     "published_at: Input should be"),
    ("published_at in year 1", record_json(published_at="0001-01-01T00:00:00+10:00"),
     "published_at: 0001-01-01T00:00:00+10:00 is before 2000-01-01 UTC"),
    ("published_at at epoch 0", record_json(published_at=0), "is before 2000-01-01 UTC"),
    ("published_at in year 9999", record_json(published_at="9999-12-31T23:59:59-10:00"),
     "published_at: 9999-12-31T23:59:59-10:00 is more than a day in the future"),
    ("crawled_at in 1999", record_json(crawled_at="1999-12-31T23:59:59Z"),
     "crawled_at: 1999-12-31T23:59:59+00:00 is before"),
    ("duplicate keys", record_json()[:-1] + b', "text": "good"}', "duplicate key 'text'"),
    ("schema from the future", record_json(schema_version=2), "schema_version"),
]]

# What only the job can refuse, after parsing: text the text stage leaves empty.
TEXT_STAGE_HOSTILE: list[HostileKind] = [
    HostileKind("only invisible characters", json.dumps(
        {"id": "h:9", "source": "h", "url": "http://h/9", "text": "\u0001\u200b\ufeff"}).encode(),
        "empty"),
]

# Every kind the job must turn into exactly one dead letter each, a tombstone included.
EVERY_KIND: list[HostileKind] = [*HOSTILE, HostileKind("tombstone", None, "tombstone"),
                                 *TEXT_STAGE_HOSTILE]


def cycled_records(count: int, source: str = "test-shop") -> list[CommentRecord]:
    """``count`` records of held-out test reviews (never training texts), each id unique.

    Past the end of the test split the texts come round again under new ids, so any volume can
    be asked for; the first round's ids are ``make_id(source, example id)``.
    """
    examples = load_examples("test")
    records = []
    for number in range(count):
        example = examples[number % len(examples)]
        lap = number // len(examples)
        native_id = example.id if lap == 0 else f"{example.id}~{lap}"
        records.append(CommentRecord(id=make_id(source, native_id), source=source,
                                     url=f"http://127.0.0.1/reviews/{native_id}",
                                     text=example.text))
    return records


def produce(settings: Settings, messages: Sequence[tuple[bytes | None, bytes | None]],
            **producer_options: object) -> list[tuple[int, int]]:
    """Send (key, value) pairs to the comments topic; returns each one's (partition, offset)."""
    producer = make_producer(settings, **producer_options)
    try:
        futures = [producer.send(settings.topic_comments, key=key, value=value)
                   for key, value in messages]
        producer.flush()
        return [(meta.partition, meta.offset) for meta in (f.get(timeout=10) for f in futures)]
    finally:
        producer.close()


def produce_records(settings: Settings, records: Sequence[CommentRecord]) -> list[tuple[int, int]]:
    """Send comment records as the crawlers do, keyed by id; returns each one's position."""
    return produce(settings, [(record.kafka_key(), record.kafka_value()) for record in records])
