import json
from datetime import UTC, datetime, timedelta

import pytest

from devkit.hostile import HOSTILE, record_json
from pipeline.records import (
    REASON_CHARS,
    CommentRecord,
    DeadLetter,
    RecordError,
    error_reason,
    make_id,
    one_line,
    parse_dead_letter,
    parse_record,
)


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


@pytest.mark.parametrize(("raw", "reason"), [pytest.param(raw, reason, id=name)
                                             for name, raw, reason in HOSTILE])
def test_hostile_input_raises_record_error_with_a_one_line_reason(raw: bytes | None,
                                                                  reason: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(raw)
    assert reason in caught.value.reason
    assert caught.value.reason == one_line(caught.value.reason)


def test_an_unforeseen_failure_is_a_record_error_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_payload: object) -> None:
        raise LookupError("first line\nsecond line")

    monkeypatch.setattr(CommentRecord, "model_validate", broken)
    with pytest.raises(RecordError) as caught:
        parse_record(record_json())
    assert caught.value.reason == "LookupError: first line second line"


@pytest.mark.parametrize("field", ["published_at", "crawled_at"])
def test_dates_must_lie_between_2000_and_a_day_from_now(field: str) -> None:
    now = datetime.now(UTC)
    for good in ("2000-01-01T00:00:00Z", (now + timedelta(hours=23)).isoformat()):
        assert getattr(parse_record(record_json(**{field: good})), field) is not None
    for bad in ("2000-01-01T07:59:59+08:00", (now + timedelta(hours=25)).isoformat()):
        with pytest.raises(RecordError, match=f"invalid record: {field}: "):
            parse_record(record_json(**{field: bad}))


def test_a_date_without_an_offset_is_taken_as_utc() -> None:
    record = parse_record(record_json(published_at="2024-03-05T14:22:00"))
    assert record.published_at == datetime(2024, 3, 5, 14, 22, tzinfo=UTC)
    assert record.published_at.utcoffset() == timedelta(0)
    with pytest.raises(RecordError, match="1999-12-31T23:00:00\\+00:00 is before"):
        parse_record(record_json(published_at="1999-12-31T23:00:00"))


def test_a_date_keeps_the_offset_it_was_given() -> None:
    record = parse_record(record_json(published_at="2024-03-05T14:22:00+08:00"))
    assert record.published_at is not None
    assert record.published_at.isoformat() == "2024-03-05T14:22:00+08:00"


def test_dead_letters_are_storable_whatever_they_say() -> None:
    letter = DeadLetter(stage="text", reason="bad\n\x00 \ud800" + "x" * 5000, raw=b"")
    assert letter.reason.startswith("bad \\x00 \\ud800xx") and "\n" not in letter.reason
    assert len(letter.reason) == REASON_CHARS and letter.reason.encode("utf-8")
    for record_id in ("i" * 513, "a\u0000"):
        assert DeadLetter(stage="crawl", reason="r", raw=b"", record_id=record_id).record_id is None
    for bad in ({"stage": "s" * 65}, {"stage": "\u0000"},
                {"created_at": "0001-01-01T00:00:00+10:00"}):
        raw = json.dumps({"stage": "crawl", "reason": "r", "raw": ""} | bad).encode()
        with pytest.raises(RecordError, match="invalid dead letter"):
            parse_dead_letter(raw)


def test_error_reason_names_the_exception_on_one_bounded_line() -> None:
    assert error_reason(ValueError("a\nb")) == "ValueError: a b"
    assert len(error_reason(RuntimeError("x" * 10_000))) == REASON_CHARS
