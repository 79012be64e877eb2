import json

import pytest

from pipeline.records import CommentRecord, RecordError, make_id, parse_record


def _record(**overrides: object) -> CommentRecord:
    fields = {"id": "demo:1", "source": "demo", "url": "http://127.0.0.1/p/1", "text": "太差了"}
    fields.update(overrides)
    return CommentRecord.model_validate(fields)


def test_round_trip_through_kafka_bytes() -> None:
    record = _record(author="张三")
    assert parse_record(record.kafka_value()) == record
    assert record.kafka_key() == b"demo:1"


def test_make_id_prefers_native_id_and_is_stable_for_text() -> None:
    assert make_id("shop", "42") == "shop:42"
    assert make_id("shop", text="质量很好") == make_id("shop", text="质量很好")
    assert make_id("shop", text="质量很好") != make_id("shop", text="质量很差")
    with pytest.raises(ValueError):
        make_id("shop")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe not utf-8", "invalid UTF-8"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (json.dumps({"id": "x", "source": "s", "url": "u"}).encode(), "text: Field required"),
        (json.dumps({"id": "x", "source": "s", "url": "u", "text": ""}).encode(), "text"),
        (json.dumps({"id": "x", "source": "s", "url": "u", "text": "好",
                     "schema_version": 99}).encode(), "schema_version"),
        (json.dumps({"id": "x", "source": "s", "url": "u", "text": "好\u0000"}).encode(), "NUL"),
        (json.dumps({"id": "x", "source": "s", "url": "u", "text": "好",
                     "author": "名" * 513}).encode(), "author"),
        (None, "tombstone"),
    ],
)
def test_bad_messages_raise_with_a_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(raw)
    assert reason in caught.value.reason
