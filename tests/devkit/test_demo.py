"""The demo as a user runs it: broker, the demo site's six sources, the hand-written spiders and
the four site profiles in one crawl, pipeline, SQLite."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from crawlers.profiles import load_profile
from devkit.bench.reference import expected_alerts
from devkit.demo import SPIDERS, DemoReport, count_sources, fit_feed_pages, run_demo
from devkit.demosite.comments import FEED_SOURCE, PLATFORM_SOURCES, platform_comments
from pipeline.config import Settings
from pipeline.scoring import load_scorer
from pipeline.store.engine import make_engine
from pipeline.store.models import Alert, CrawlState
from tests.utils.paths import REPO_ROOT

LIMIT = 120
PROFILES = REPO_ROOT / "devkit" / "demosite" / "profiles"


def _read_everything(report: DemoReport, limit: int) -> None:
    assert report.served == report.crawled == report.pipeline.read == limit
    assert set(report.sources) == set(PLATFORM_SOURCES)
    assert not report.fewer
    assert report.pipeline.scored == limit and report.pipeline.dead_letters == 0


@pytest.mark.integration
def test_demo_scores_every_comment_and_alerts_exactly_the_negatives(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}")

    report = run_demo(settings, limit=LIMIT, idle_stop_s=2)

    _read_everything(report, LIMIT)  # the feed's 19 comments fit in the 3 pages its profile reads
    comments = platform_comments(LIMIT)
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


@pytest.mark.integration
def test_a_second_demo_on_the_same_store_crawls_the_whole_site_again(tmp_path: Path) -> None:
    """Profile crawls are incremental; the demo forgets what its earlier crawls saw."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    limit = 60

    _read_everything(run_demo(settings, limit=limit, idle_stop_s=2), limit)
    with Session(make_engine(settings.database_url)) as session:
        assert session.query(CrawlState).count() == 4  # the profiles remembered their comments
    _read_everything(run_demo(settings, limit=limit, idle_stop_s=2), limit)


@pytest.mark.integration
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


def test_a_source_crawled_short_of_what_it_serves_says_why(tmp_path: Path) -> None:
    """The whole site: the feed profile reads the feed's first three pages, 60 of its items."""
    comments = platform_comments()
    profiles = [load_profile(path) for path in sorted(PROFILES.iterdir())]
    served = {source: sum(c.source == source for c in comments) for source in PLATFORM_SOURCES}
    crawled = served | {FEED_SOURCE: 60}
    summary = {name: {"produced": crawled[source]} for name, source in SPIDERS.items()} | {
        profile.id: {"produced": crawled[profile.id]} for profile in profiles}

    sources = count_sources(comments, summary, profiles, tmp_path / "crawl.log")

    assert {source: (count.served, count.crawled) for source, count in sources.items()} == {
        source: (served[source], crawled[source]) for source in PLATFORM_SOURCES}
    short = {source: count.why_fewer for source, count in sources.items() if count.why_fewer}
    assert short == {FEED_SOURCE: "its profile reads only its 3 start pages"}


def test_a_source_short_for_no_known_reason_points_at_the_crawl_log(tmp_path: Path) -> None:
    comments = platform_comments(LIMIT)
    summary = {name: {"produced": 0} for name in SPIDERS}

    sources = count_sources(comments, summary, [], tmp_path / "crawl.log")

    assert sources["demo-reviews"].why_fewer == f"see {tmp_path / 'crawl.log'}"
    assert sources["demo-weibo"].crawled == 0  # no profile crawled it: none of it was read


@pytest.mark.parametrize(("items", "pages"), [(4, 1), (21, 2), (40, 2), (41, 3), (282, 3)])
def test_a_short_feed_is_crawled_only_as_far_as_it_goes(tmp_path: Path, items: int,
                                                        pages: int) -> None:
    """A smaller demo site's feed answers 404 past its last page; the demo asks for no such page."""
    copy = tmp_path / "demo-feed.toml"
    copy.write_text((PROFILES / "demo-feed.toml").read_text(encoding="utf-8"), encoding="utf-8")

    fit_feed_pages(copy, items)

    assert len(load_profile(copy).urls()) == pages
