"""The streaming job end to end on the real broker, the trained model and a SQLite file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from itertools import zip_longest
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from devkit.bench.reference import expected_alerts
from devkit.hostile import EVERY_KIND, LARGE_MESSAGE_BYTES, cycled_records, produce, produce_records
from pipeline.config import Settings
from pipeline.errors import ArtifactMissing
from pipeline.kafka import make_producer
from pipeline.records import CommentRecord, one_line, utcnow
from pipeline.scoring import load_scorer
from pipeline.store.engine import SchemaError, make_engine
from pipeline.store.models import Alert, StoredDeadLetter
from pipeline.store.queries import select_alerts, select_dead_letters, select_versions
from pipeline.stream.run import run
from tests.utils.brokers import ON_EACH_BROKER

pytestmark = pytest.mark.integration

MALFORMED = [
    (b"bad-json", b"{this is not json"),
    (b"no-text", json.dumps({"id": "x:1", "source": "x", "url": "http://x/1"}).encode()),
    (b"bad-utf8", b'{"id": "x:2", "text": "\xff\xfe"}'),
    # Not as the job would re-serialise it (spaced, an unknown field, no crawled_at): the dead
    # letter must keep these bytes.
    (b"only-url", b'{ "id": "x:3", "source": "x", "url": "http://x/3", "likes": 2,\n'
                  b'  "text": "https://example.com/a" }'),
    (b"nul", json.dumps({"id": "x:4", "source": "x", "url": "u", "text": "坏\u0000"}).encode()),
    (b"tombstone", None),
]


@ON_EACH_BROKER
def test_every_comment_scored_negatives_alerted_bad_input_dead_lettered(settings: Settings
                                                                         ) -> None:
    records = cycled_records(80)
    positions = dict(zip((r.id for r in records), produce_records(settings, records), strict=True))
    produce(settings, MALFORMED)

    summary = run(["--until-idle=2"], settings)

    assert (summary.read, summary.scored) == (len(records) + len(MALFORMED), len(records))
    assert summary.dead_letters == len(MALFORMED)
    want = expected_alerts(settings, [(r.id, r.text) for r in records])
    assert 0 < len(want) < len(records)
    version = load_scorer(settings).version
    with Session(make_engine(settings.database_url)) as session:
        alerts = {alert.comment_id: alert for alert in session.query(Alert)}
        assert set(alerts) == want
        for comment_id, alert in alerts.items():
            assert (alert.kafka_partition, alert.kafka_offset) == positions[comment_id]
            assert alert.model_version == version
            assert alert.score >= settings.alert_threshold
        letters = {letter.raw: letter for letter in select_dead_letters(session)}
    assert set(letters) == {value or b"" for _key, value in MALFORMED}
    reasons = [letters[value or b""].reason for _key, value in MALFORMED]
    assert reasons[0].startswith("not JSON")
    assert "text: Field required" in reasons[1]
    assert reasons[2].startswith("invalid UTF-8")
    assert "empty" in reasons[3] and letters[MALFORMED[3][1]].record_id == "x:3"
    assert "NUL" in reasons[4]
    assert "tombstone" in reasons[5]
    assert all(letter.kafka_offset is not None for letter in letters.values())


def test_hostile_messages_are_one_dead_letter_each_and_the_job_goes_on(settings: Settings
                                                                       ) -> None:
    records = cycled_records(40)
    hostile = EVERY_KIND
    valid = [(r.kafka_key(), r.kafka_value()) for r in records]
    bad = [(f"hostile-{i}".encode(), raw) for i, (_name, raw, _reason) in enumerate(hostile)]
    interleaved = [m for pair in zip_longest(valid, bad) for m in pair if m is not None]
    positions = dict(zip((key for key, _ in interleaved), _produce_large(settings, interleaved),
                         strict=True))

    summary = run(["--until-idle=2"], settings)

    assert (summary.read, summary.scored) == (len(interleaved), len(records))
    assert summary.dead_letters == len(hostile)
    with Session(make_engine(settings.database_url)) as session:
        assert {a.comment_id for a in session.query(Alert)} == expected_alerts(
            settings, [(r.id, r.text) for r in records])
        letters = {(letter.kafka_partition, letter.kafka_offset): letter
                   for letter in select_dead_letters(session, limit=1000)}
    assert len(letters) == len(hostile)
    for (key, raw), (name, _raw, reason) in zip(bad, hostile, strict=True):
        letter = letters[positions[key]]
        assert letter.raw == (raw or b""), name
        assert reason in letter.reason and letter.reason == one_line(letter.reason), name
        assert letter.stage == ("text" if "empty" in reason else "parse"), name


@ON_EACH_BROKER
def test_replaying_the_topic_creates_no_duplicates(settings: Settings) -> None:
    produce_records(settings, cycled_records(40))
    produce(settings, MALFORMED[:1])
    run(["--until-idle=2"], settings)
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        first = {a.comment_id: a.score for a in session.query(Alert)}
        first_letters = session.query(StoredDeadLetter).count()

    # A new consumer group starts again from offset 0: every message is processed twice.
    replay = settings.model_copy(update={"consumer_group": "replay"})
    summary = run(["--until-idle=2"], replay)

    assert summary.scored == 40
    with Session(engine) as session:
        assert {a.comment_id: a.score for a in session.query(Alert)} == first
        assert session.query(StoredDeadLetter).count() == first_letters == 1


@ON_EACH_BROKER
def test_an_edit_to_praise_withdraws_the_alert_and_keeps_both_versions(settings: Settings
                                                                        ) -> None:
    first = CommentRecord(id="shop:edited", source="shop", url="http://127.0.0.1/edited",
                          text="太差了，再也不买了", crawled_at=utcnow() - timedelta(hours=1))
    edit = first.model_copy(update={"text": "非常好,很满意", "crawled_at": utcnow()})
    assert expected_alerts(settings, [("bad", first.text), ("good", edit.text)]) == {"bad"}
    engine = make_engine(settings.database_url)
    produce_records(settings, [first])
    run(["--until-idle=2"], settings)
    with Session(engine) as session:
        assert select_alerts(session)[0].raw_text == first.text

    produce_records(settings, [edit])
    run(["--until-idle=2"], settings)

    with Session(engine) as session:
        assert select_alerts(session) == []
        (alert,) = select_alerts(session, withdrawn=True)
        assert (alert.raw_text, alert.label) == (edit.text, "positive")
        versions = select_versions(session, first.id)
        assert [(v.raw_text, v.label) for v in versions] == [
            (first.text, "negative"), (edit.text, "positive")]


@ON_EACH_BROKER
def test_a_second_run_resumes_from_committed_offsets(settings: Settings) -> None:
    produce_records(settings, cycled_records(20))
    assert run(["--until-idle=2"], settings).read == 20
    produce_records(settings, cycled_records(25)[20:])
    assert run(["--until-idle=2"], settings).read == 5


@ON_EACH_BROKER
def test_an_unreadable_message_on_the_dead_letter_topic_is_kept_too(settings: Settings) -> None:
    producer = make_producer(settings)
    producer.send(settings.topic_dead_letters, value=b"\xff not a dead letter")
    producer.flush()
    producer.close()

    assert run(["--until-idle=2"], settings).dead_letters == 1
    with Session(make_engine(settings.database_url)) as session:
        (letter,) = select_dead_letters(session, stage="dead-letter-topic")
    assert letter.raw == b"\xff not a dead letter" and "invalid dead letter" in letter.reason


def test_the_job_refuses_to_start_on_a_store_without_the_schema(settings: Settings,
                                                                tmp_path: Path) -> None:
    empty = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'new.db'}"})
    with pytest.raises(SchemaError, match="run `yuqing db upgrade`"):
        run(["--until-idle=1"], empty)


def test_the_job_refuses_to_start_without_the_corrector_lm(settings: Settings,
                                                           tmp_path: Path) -> None:
    missing = settings.model_copy(update={"corrector_lm": tmp_path / "no-lm"})
    with pytest.raises(ArtifactMissing, match="yuqing build corrector-lm"):
        run(["--until-idle=1"], missing)


def _produce_large(settings: Settings, messages: Sequence[tuple[bytes, bytes | None]]
                   ) -> list[tuple[int, int]]:
    """With room for the multi-MB values a producer refuses by default."""
    return produce(settings, messages, max_request_size=LARGE_MESSAGE_BYTES)
