"""``yuqing bench faults`` at a tiny size: every row runs for real, and its figures are read from
the store and the broker, so a store broken on purpose shows up in them.

All four rows run once for the module (about three minutes: a dozen job starts); the tests
then read their reports, and break the stores they left behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from devkit.bench.faults import ROWS, RowReport, Sizes, offsets_short, run_rows, table
from devkit.bench.reference import audit
from devkit.hostile import EVERY_KIND, produce
from devkit.postgres import PostgresServer
from pipeline.config import Settings
from pipeline.kafka_server import KafkaServer
from pipeline.store.engine import make_engine
from pipeline.store.models import Alert, AlertVersion, StoredDeadLetter

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.bench]

# The spec's tiny sizes; a smaller demo site and a shorter idle keep the broker row near a
# minute (the idle must still outlast a broker restart and the clients' reconnect back-off).
TINY = Sizes(comments=300, kills=2, outage_s=5, broker_kills=1, hostile=200, site_comments=300,
             broker_idle_s=30)


@pytest.fixture(scope="module")
def reports(apache_kafka: KafkaServer, kafka_libs: Path, postgres: PostgresServer,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RowReport]]:
    """Every row once. ``postgres`` only for its skip: the store row starts a server of its
    own, to stop it under the job. The session broker is left running, as its fixture asks,
    even if the broker row failed while it was down."""
    # The checkout's var/: the jars and the corrector's LM, as `make test` left them.
    settings = Settings(data_dir=kafka_libs.parents[2], kafka_timeout_s=10)
    work_dir = tmp_path_factory.mktemp("faults")
    try:
        yield {report.row: report for report in run_rows(settings, ROWS, TINY, work_dir,
                                                         apache_kafka)}
    finally:
        if apache_kafka.pid is None:
            apache_kafka.start()


def _store(report: RowReport) -> str:
    assert report.settings is not None
    return report.settings.database_url


def _audit(report: RowReport) -> dict[str, int]:
    assert report.expected is not None
    found = audit(_store(report), report.expected)
    return {"lost": found.lost, "duplicated": found.duplicated}


def test_every_row_loses_and_duplicates_nothing(reports: dict[str, RowReport]) -> None:
    assert list(reports) == list(ROWS)
    for report in reports.values():
        assert (report.audit.lost, report.audit.duplicated, report.short) == (0, 0, 0), (
            report.figures())
        assert report.survived and report.ok, report.figures()


def test_the_kill_row_killed_and_restarted_the_job(reports: dict[str, RowReport]) -> None:
    figures = reports["kill"].figures()
    assert figures["kills"] == TINY.kills
    assert [run["ended"] for run in figures["runs"]] == ["killed", "killed", "idle"]
    assert figures["restarts_resumed"] == TINY.kills
    assert figures["job_survived"] == "restarts resume (3 runs)"


def test_the_store_row_rode_out_the_outage_in_one_run(reports: dict[str, RowReport]) -> None:
    figures = reports["store"].figures()
    assert [run["ended"] for run in figures["runs"]] == ["idle"]
    assert figures["outage_warnings"] >= 1 and figures["recovery_logged"]
    assert figures["job_survived"] == "yes, without restart"


def test_the_broker_was_killed_during_the_crawl(reports: dict[str, RowReport]) -> None:
    figures = reports["broker"].figures()
    assert figures["kills"] == figures["kills_during_crawl"] == TINY.broker_kills
    assert figures["crawls"][-1]["ended"] == "exit 0"
    assert figures["crawls"][-1]["produced"] == TINY.site_comments


def test_every_hostile_kind_got_one_dead_letter_with_its_reason(reports: dict[str, RowReport]
                                                                 ) -> None:
    figures = reports["hostile"].figures()
    assert figures["kinds"] == len(EVERY_KIND) and figures["hostile"] == len(EVERY_KIND)
    assert figures["reasons_as_named"] == figures["hostile"]


def test_a_dropped_alert_is_counted_lost(reports: dict[str, RowReport]) -> None:
    report = reports["kill"]
    engine = make_engine(_store(report))
    with Session(engine) as session, session.begin():
        victim = session.scalars(select(Alert.comment_id).limit(1)).one()
        session.execute(delete(Alert).where(Alert.comment_id == victim))
    engine.dispose()

    assert _audit(report) == {"lost": 1, "duplicated": 0}


def test_a_version_stored_twice_and_an_alert_never_sent_are_counted(
        reports: dict[str, RowReport]) -> None:
    report = reports["broker"]
    engine = make_engine(_store(report))
    with Session(engine) as session, session.begin():
        version = session.scalars(select(AlertVersion).limit(1)).one()
        copy = {column.key: getattr(version, column.key)
                for column in AlertVersion.__table__.columns if column.key != "id"}
        session.execute(insert(AlertVersion).values({**copy, "kafka_offset": 10**9}))
        alert = session.scalars(select(Alert).limit(1)).one()
        row = {column.key: getattr(alert, column.key) for column in Alert.__table__.columns}
        session.execute(insert(Alert).values({**row, "comment_id": "never:sent"}))
    engine.dispose()

    assert _audit(report) == {"lost": 0, "duplicated": 2}


def test_dead_letters_missing_or_extra_are_counted(reports: dict[str, RowReport]) -> None:
    report = reports["hostile"]
    assert report.expected is not None
    topic, partition, offset = next(iter(report.expected.hostile))
    engine = make_engine(_store(report))
    with Session(engine) as session, session.begin():
        session.execute(delete(StoredDeadLetter).where(
            StoredDeadLetter.kafka_topic == topic, StoredDeadLetter.kafka_partition == partition,
            StoredDeadLetter.kafka_offset == offset))
        # A letter for a message that was a valid comment: one position past any hostile one.
        session.execute(insert(StoredDeadLetter).values(
            stage="parse", reason="refused by mistake", raw=b"{}", kafka_topic=topic,
            kafka_partition=partition, kafka_offset=10**9))
    engine.dispose()

    assert _audit(report) == {"lost": 1, "duplicated": 1}


def test_a_message_the_job_never_committed_is_counted(reports: dict[str, RowReport]) -> None:
    settings = reports["hostile"].settings
    assert settings is not None
    produce(settings, [(b"late", b"{}")])

    assert offsets_short(settings) == 1


def test_the_table_has_a_line_per_row_and_the_figures_are_json(reports: dict[str, RowReport]
                                                                ) -> None:
    result = {"rows": {row: report.figures() for row, report in reports.items()}}
    lines = table(result).splitlines()
    assert lines[0] == "| fault | load | injected | lost | duplicated | job survived |"
    assert len(lines) == 2 + len(ROWS)
    assert lines[2].startswith("| `kill -9` of the job | 300 comments | 2 kills (")
    assert lines[2].endswith("| 0 | 0 | restarts resume (3 runs) |")
    assert json.loads(json.dumps(result)) == json.loads(json.dumps(result, ensure_ascii=False))
