"""The demo as a user runs it: broker, demo site, real spiders, pipeline, SQLite."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from devkit.bench.reference import expected_alerts
from devkit.demo import run_demo
from devkit.demosite.comments import demo_comments
from pipeline.config import Settings
from pipeline.scoring import load_scorer
from pipeline.store.engine import make_engine
from pipeline.store.models import Alert

pytestmark = pytest.mark.integration

LIMIT = 120


def test_demo_scores_every_comment_and_alerts_exactly_the_negatives(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}")

    report = run_demo(settings, limit=LIMIT, idle_stop_s=2)

    assert report.served == report.crawled == report.pipeline.read == LIMIT
    assert report.pipeline.scored == LIMIT and report.pipeline.dead_letters == 0
    comments = demo_comments(LIMIT)
    want = expected_alerts(settings, [(c.record_id, c.text) for c in comments])
    with Session(make_engine(settings.database_url)) as session:
        alerts = session.query(Alert).all()
    assert {alert.comment_id for alert in alerts} == want
    assert report.pipeline.alerts == report.alerts_stored == len(want)
    version = load_scorer(settings).version
    offsets = {(a.kafka_partition, a.kafka_offset) for a in alerts}
    assert len(offsets) == len(alerts)
    assert all(alert.model_version == version for alert in alerts)
    assert [a.score for a in report.top_alerts] == sorted((a.score for a in alerts),
                                                          reverse=True)[:10]


def test_demo_alerts_say_which_watched_brand_they_concern(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", keywords=["携程", "当当"],
                        alert_threshold=0.5)
    run_demo(settings, limit=300, idle_stop_s=2)
    with Session(make_engine(settings.database_url)) as session:
        alerts = session.query(Alert).all()
    tagged = [alert for alert in alerts if alert.keywords]
    assert tagged, "some negative held-out reviews mention 携程 or 当当"
    for alert in alerts:
        assert alert.keywords == [k for k in ("携程", "当当") if k in alert.clean_text]
