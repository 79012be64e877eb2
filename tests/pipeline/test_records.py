import json
from datetime import UTC, datetime, timedelta

import pytest

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


def _json(**overrides: object) -> bytes:
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
HOSTILE: list[tuple[str, bytes | None, str]] = [
    # (what it is, the message value, a phrase its reason must contain)
    ("open arrays", b"[" * DEEP, "nested too deeply"),
    ("open objects", b'{"a": ' * DEEP, "nested too deeply"),
    ("closed arrays in a field", _with_text(b"[" * DEEP + b"]" * DEEP), "nested too deeply"),
    ("closed objects in a field", _with_text(b'{"a": ' * DEEP + b"1" + b"}" * DEEP),
     "nested too deeply"),
    ("huge integer alone", HUGE_INT, "number in the JSON is too long"),
    ("huge negative integer in a field", _with_text(b"-" + HUGE_INT),
     "number in the JSON is too long"),
    ("huge integer as an unknown field", _json()[:-1] + b', "likes": ' + HUGE_INT + b"}",
     "number in the JSON is too long"),
    ("text over the limit", _json(text="差" * 100_001), "at most 100000 characters"),
    ("multi-MB text", _json(text="差" * 1_500_000), "at most 100000 characters"),
    ("multi-MB string alone", json.dumps("x" * 3_000_000).encode(), "not a JSON object but str"),
    ("id over the limit", _json(id="i" * 513), "id: String should have at most 512"),
    ("null", b"null", "not a JSON object but NoneType"),
    ("true", b"true", "not a JSON object but bool"),
    ("integer", b"1", "not a JSON object but int"),
    ("float", b"1.5", "not a JSON object but float"),
    ("string", b'"s"', "not a JSON object but str"),
    ("empty array", b"[]", "not a JSON object but list"),
    ("empty object", b"{}", "id: Field required"),
    ("record encoded twice", json.dumps(_json().decode()).encode(), "not a JSON object but str"),
    ("lone high surrogate in text", _with_text(b'"\\ud800"'), "text: Input should be a valid"),
    ("lone low surrogate in id", _json(id=None)[:-1] + b', "id": "\\udc00"}',
     "id: Input should be a valid string"),
    ("raw control character", _with_text(b'"\x01\x07"'), "Invalid control character"),
    ("raw NUL byte", _with_text(b'"\x00"'), "Invalid control character"),
    ("escaped NUL", _json(text="好\u0000"), "NUL"),
    ("NUL in the author", _json(author="\u0000"), "author: contains a NUL"),
    ("invalid UTF-8", b'{"text": "\xff"}', "invalid UTF-8 at byte 10"),
    ("truncated UTF-8", _json()[:-3] + b"\xe5\xa5", "invalid UTF-8"),
    ("UTF-8-encoded surrogate", _with_text(b'"\xed\xa0\x80"'), "invalid UTF-8"),
    ("UTF-16", _json().decode().encode("utf-16"), "invalid UTF-8"),
    ("empty bytes", b"", "not JSON: Expecting value"),
    ("whitespace only", b" \n\t ", "not JSON: Expecting value"),
    ("BOM before a record", b"\xef\xbb\xbf" + _json(), "not JSON: Unexpected UTF-8 BOM"),
    ("trailing garbage", _json() + b" x", "not JSON: Extra data"),
    ("two records", _json() + _json(), "not JSON: Extra data"),
    ("text as a number", _json(text=5), "text: Input should be a valid string"),
    ("text as NaN", _with_text(b"NaN"), "text: Input should be a valid string"),
    ("id as an object", _json(id={"a": 1}), "id: Input should be a valid string"),
    ("url as a list", _json(url=["http://x"]), "url: Input should be a valid string"),
    ("author as a boolean", _json(author=True), "author: Input should be a valid string"),
    ("id only spaces", _json(id="   "), "id: String should have at least 1 character"),
    ("published_at as a boolean", _json(published_at=True), "published_at: Input should be"),
    ("published_at in year 1", _json(published_at="0001-01-01T00:00:00+10:00"),
     "published_at: 0001-01-01T00:00:00+10:00 is before 2000-01-01 UTC"),
    ("published_at at epoch 0", _json(published_at=0), "is before 2000-01-01 UTC"),
    ("published_at in year 9999", _json(published_at="9999-12-31T23:59:59-10:00"),
     "published_at: 9999-12-31T23:59:59-10:00 is more than a day in the future"),
    ("crawled_at in 1999", _json(crawled_at="1999-12-31T23:59:59Z"),
     "crawled_at: 1999-12-31T23:59:59+00:00 is before"),
    ("duplicate keys", _json()[:-1] + b', "text": "good"}', "duplicate key 'text'"),
    ("schema from the future", _json(schema_version=2), "schema_version"),
]


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
        parse_record(_json())
    assert caught.value.reason == "LookupError: first line second line"


@pytest.mark.parametrize("field", ["published_at", "crawled_at"])
def test_dates_must_lie_between_2000_and_a_day_from_now(field: str) -> None:
    now = datetime.now(UTC)
    for good in ("2000-01-01T00:00:00Z", (now + timedelta(hours=23)).isoformat()):
        assert getattr(parse_record(_json(**{field: good})), field) is not None
    for bad in ("2000-01-01T07:59:59+08:00", (now + timedelta(hours=25)).isoformat()):
        with pytest.raises(RecordError, match=f"invalid record: {field}: "):
            parse_record(_json(**{field: bad}))


def test_a_date_without_an_offset_is_taken_as_utc() -> None:
    record = parse_record(_json(published_at="2024-03-05T14:22:00"))
    assert record.published_at == datetime(2024, 3, 5, 14, 22, tzinfo=UTC)
    assert record.published_at.utcoffset() == timedelta(0)
    with pytest.raises(RecordError, match="1999-12-31T23:00:00\\+00:00 is before"):
        parse_record(_json(published_at="1999-12-31T23:00:00"))


def test_a_date_keeps_the_offset_it_was_given() -> None:
    record = parse_record(_json(published_at="2024-03-05T14:22:00+08:00"))
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
