"""One comment the store refuses, in the running job: it must cost that comment, kept as a dead
letter, not the job, and not every later run (the old job died on it, its offsets uncommitted,
and died again on each restart)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from devkit.bench.reference import expected_alerts
from devkit.hostile import cycled_records, produce_records
from pipeline.config import Settings
from pipeline.store.engine import make_engine
from pipeline.store.models import Alert
from pipeline.store.queries import select_dead_letters
from pipeline.stream.run import run
from tests.utils.store import Store

pytestmark = pytest.mark.integration


def test_a_comment_the_store_refuses_is_a_dead_letter_and_the_job_goes_on(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pipeline")
    records = cycled_records(30)
    want = expected_alerts(settings, [(r.id, r.text) for r in records])
    # A negative comment: only a new alert inserts a row, which the trigger sees.
    refused = next(r for r in records if r.id in want)
    Store(settings.database_url).refuse("alerts", f"NEW.comment_id = '{refused.id}'",
                                        "comments from this shop are not kept")
    positions = dict(zip((r.id for r in records), produce_records(settings, records),
                         strict=True))

    summary = run(["--until-idle=2"], settings)

    assert (summary.read, summary.scored, summary.dead_letters) == (len(records), len(records), 1)
    with Session(make_engine(settings.database_url)) as session:
        assert set(session.scalars(select(Alert.comment_id))) == want - {refused.id}
        (letter,) = select_dead_letters(session)
    assert (letter.stage, letter.record_id, letter.raw) == ("store", refused.id,
                                                            refused.kafka_value())
    assert (letter.kafka_topic, (letter.kafka_partition, letter.kafka_offset)) == (
        settings.topic_comments, positions[refused.id])
    assert "comments from this shop are not kept" in letter.reason
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, tracebacks[0].getMessage()

    # The offsets were committed past it: a restart does not meet it again.
    assert run(["--until-idle=2"], settings).read == 0
