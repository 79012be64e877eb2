"""The web dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, on
``yuqing serve``'s app run by uvicorn on loopback against a seeded SQLite store.

Each test gets its own store and server (so one test's acknowledgement is not another's
precondition); the browser is started once. The screenshot the README shows is taken here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy.orm import Session

from pipeline.api.app import create_app
from pipeline.broker import free_port
from pipeline.config import Settings
from pipeline.records import AlertRow, Surge, SurgeComment, SurgeSubject
from pipeline.store.deliveries import add_silence
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import CrawlRun, SourceAlert
from pipeline.store.queries import record_scores
from pipeline.store.surges import add_surges
from pipeline.store.tokens import Role, create_token, list_tokens, revoke_token
from tests.utils.background import wait_until
from tests.utils.paths import REPO_ROOT, built_by_make

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT = REPO_ROOT / "var" / "screenshots" / "dashboard.png"

# The hour the seeded comments end in: recent, so the chart's default range (7 days) shows them.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
XSS = '太差了 <script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
HUAWEI_BAD = ["华为手机电池续航太差了，充一次电用不了半天", "华为售后态度很差，修了三次还没修好",
              "华为新系统更新以后卡顿严重", "华为耳机左边没声音，客服一直推脱"]
JD_BAD = ["京东物流这次太慢了，等了五天", "京东客服答非所问，退款拖了两周"]
GOOD = ["物流很快，包装完好", "用了一个月，挺满意的", "客服耐心，问题解决了"]


def _row(number: int, keyword: str | None, source: str, hours_ago: float, text: str,
         negative: bool) -> AlertRow:
    at = NOW - timedelta(hours=hours_ago)
    return AlertRow(
        comment_id=f"{source}:{number}", source=source,
        url=f"https://{source}.example.com/c/{number}", author=f"用户{number}",
        published_at=at, crawled_at=at + timedelta(minutes=5), raw_text=text, clean_text=text,
        tokens=[], keywords=[keyword] if keyword else [],
        label="negative" if negative else "positive", score=0.97 if negative else 0.1,
        model="lstm", model_version="lstm-2026.11", kafka_topic="comments", kafka_partition=0,
        kafka_offset=number)


def _seed_rows() -> list[AlertRow]:
    rows = [_row(n, keyword, "demo-shop" if n % 3 else "demo-weibo", hours, GOOD[n % 3], False)
            for n, (keyword, hours) in enumerate(
                (keyword, hours) for hours in range(1, 40, 2) for keyword in ("华为", "京东"))]
    # 华为's negatives surge two and three hours ago.
    for hours in (30, 20, 9, 3, 3, 3, 2, 2, 2):
        rows.append(_row(len(rows), "华为", "demo-shop" if len(rows) % 2 else "demo-weibo",
                         hours + 0.2, HUAWEI_BAD[len(rows) % 4], True))
    for hours in (26, 14, 7, 1):
        rows.append(_row(len(rows), "京东", "demo-shop", hours + 0.4, JD_BAD[len(rows) % 2], True))
    rows.append(_row(len(rows), None, "demo-forum", 5, XSS, True))
    return rows


ROWS = _seed_rows()
ALERTS = [row for row in ROWS if row.label == "negative"]
XSS_ID = ALERTS[-1].comment_id


@dataclass(frozen=True)
class Served:
    url: str
    database_url: str
    operator: str
    viewer: str

    def api(self, path: str, token: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"},
                         timeout=10)


def _seed(database_url: str) -> tuple[str, str]:
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        record_scores(session, ROWS)
        add_surges(session, [Surge(
            subject_kind=SurgeSubject.KEYWORD, subject="华为", window_start=NOW
            - timedelta(hours=4), window_end=NOW - timedelta(hours=2), count=6,
            baseline_mean=0.4, baseline_std=0.5, threshold=3.0,
            top_comments=(SurgeComment(ALERTS[3].comment_id, ALERTS[3].raw_text, 0.97),))])
        session.add_all([
            CrawlRun(profile_id=profile, started_at=NOW - timedelta(minutes=20),
                     finished_at=NOW - timedelta(minutes=18), pages=12, items=40, new_items=9,
                     dead_letters=0, undelivered=0, http_errors=errors, retries=len(errors),
                     bans_suspected=0, finish_reason="finished", ok=not errors)
            for profile, errors in (("demo-weibo", {}), ("demo-shop", {"503": 6}))])
        acknowledged = ALERTS[3]  # its lineage names the crawl that brought it
        session.add(CrawlRun(
            profile_id=acknowledged.source, started_at=acknowledged.crawled_at
            - timedelta(minutes=1), finished_at=acknowledged.crawled_at + timedelta(minutes=1),
            pages=5, items=20, new_items=6, dead_letters=0, undelivered=0, http_errors={},
            retries=0, bans_suspected=0, finish_reason="finished", ok=True))
        session.add(SourceAlert(profile_id="demo-shop", kind="failing",
                                detail="3 of the last 3 crawls failed (HTTP 503)"))
        add_silence(session, matchers={"kind": "crawl_health", "source": "demo-shop"},
                    starts_at=NOW, ends_at=NOW + timedelta(days=1), created_by="ops-lead",
                    comment="商城维护中，明天恢复")
        tokens = (create_token(session, "ops-operator", Role.OPERATOR),
                  create_token(session, "ops-viewer", Role.VIEWER))
    engine.dispose()
    return tokens


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The app on a free loopback port, in a thread, until the test ends."""
    database_url = f"sqlite:///{tmp_path / 'yuqing.db'}"
    upgrade(database_url)
    operator, viewer = _seed(database_url)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(database_url=database_url)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 20, "the API to start")
        yield Served(f"http://127.0.0.1:{port}", database_url, operator, viewer)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = built_by_make(CHROMIUM, "make system-deps")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab (its own sessionStorage), in Beijing time, wide enough for two columns."""
    context = browser.new_context(viewport={"width": 1400, "height": 900},
                                  timezone_id="Asia/Shanghai", locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def _log_in(page: Page, served: Served, token: str) -> None:
    page.goto(served.url)
    page.fill("#token-input", token)
    page.click("#login-form button")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#alert-rows tr")).to_have_count(len(ALERTS))


def _open(page: Page, comment_id: str) -> None:
    page.click(f'#alert-rows tr[data-comment-id="{comment_id}"]')
    expect(page.locator("#detail-id")).to_have_text(comment_id)


def test_a_wrong_token_is_refused_and_a_good_one_shows_the_alerts(
        page: Page, served: Served) -> None:
    response = page.goto(served.url)
    assert response is not None and "default-src 'self'" in response.headers[
        "content-security-policy"]
    page.fill("#token-input", "yq_not-a-token")
    page.click("#login-form button")
    expect(page.locator("#login-error")).to_contain_text("not accepted")
    expect(page.locator("#app")).to_be_hidden()
    _log_in(page, served, served.viewer)
    expect(page.locator("#alerts-empty")).to_be_hidden()


def test_filters_narrow_the_list(page: Page, served: Served) -> None:
    _log_in(page, served, served.viewer)
    page.fill('#filters input[name="keyword"]', "京东")
    page.click('#filters button[type="submit"]')
    jd = [row for row in ALERTS if "京东" in row.keywords]
    expect(page.locator("#alert-rows tr")).to_have_count(len(jd))
    page.fill('#filters input[name="source"]', "demo-weibo")
    page.click('#filters button[type="submit"]')
    expect(page.locator("#alerts-empty")).to_be_visible()
    page.click('#filters button[type="reset"]')
    expect(page.locator("#alert-rows tr")).to_have_count(len(ALERTS))
    page.fill('#filters input[name="source"]', "demo-forum")
    page.click('#filters button[type="submit"]')
    expect(page.locator("#alert-rows tr")).to_have_count(1)
    expect(page.locator("#alert-rows tr")).to_have_attribute("data-comment-id", XSS_ID)


def test_an_operator_acknowledges_an_alert_with_a_note_and_sees_its_lineage_and_history(
        page: Page, served: Served) -> None:
    alert = ALERTS[3]
    _log_in(page, served, served.operator)
    _open(page, alert.comment_id)
    lineage = page.locator("#lineage")
    expect(lineage).to_contain_text("comments · partition 0 · offset "
                                    f"{alert.kafka_offset}")
    expect(lineage).to_contain_text("lstm (lstm-2026.11)")
    expect(lineage).to_contain_text(f"{alert.source}, ")
    expect(lineage).to_contain_text("5 pages, 6 new, ok")
    link = lineage.locator("a")
    expect(link).to_have_attribute("href", alert.url)
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(page.locator("#detail-status")).to_have_text("open")
    page.fill("#action-note", "已联系用户，售后跟进")
    page.click('#action-form button[data-action="acknowledge"]')
    expect(page.locator("#detail-status")).to_have_text("acknowledged")
    expect(page.locator("#events li")).to_contain_text("acknowledge by ops-operator: 已联系用户")
    expect(page.locator(f'#alert-rows tr[data-comment-id="{alert.comment_id}"] .badge')
           ).to_have_text("acknowledged")
    events = served.api(f"/alerts/{alert.comment_id}/events", served.viewer).json()
    assert [(e["action"], e["actor"], e["note"]) for e in events] == [
        ("acknowledge", "ops-operator", "已联系用户，售后跟进")]
    # The whole page, for the README: chart, list, this alert's lineage and crawl health.
    expect(page.locator("#chart g.series")).to_have_count(2)
    expect(page.locator("#crawl-rows tr")).to_have_count(3)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_markup_in_a_comment_is_shown_as_text_and_never_runs(page: Page, served: Served) -> None:
    _log_in(page, served, served.operator)
    row = page.locator(f'#alert-rows tr[data-comment-id="{XSS_ID}"]')
    expect(row).to_contain_text("<script>window.__xss=1</script>")
    expect(row).to_contain_text('onerror="window.__xss=2"')
    _open(page, XSS_ID)
    expect(page.locator("#detail-text")).to_have_text(XSS)
    assert page.locator("#app img, #app script").count() == 0
    assert page.evaluate("() => window.__xss") is None


def test_the_chart_draws_negative_volume_per_brand_and_marks_the_surge(
        page: Page, served: Served) -> None:
    _log_in(page, served, served.viewer)
    series = page.locator("#chart g.series")
    expect(series).to_have_count(2)
    for brand in ("华为", "京东"):
        path = page.locator(f'#chart g.series[data-group="{brand}"] path.line').get_attribute("d")
        assert path is not None and path.count("L") > 10  # a line through every hour
        expect(page.locator("#chart-legend")).to_contain_text(brand)
    expect(page.locator('#chart g.surge[data-subject="华为"] path.surge-marker')).to_have_count(1)
    expect(page.locator("#surge-count")).to_have_text("1")
    page.select_option("#chart-by", "none")
    expect(page.locator('#chart g.series[data-group="all"] circle.point').first).to_be_attached()


def test_crawl_health_shows_failing_sources_and_the_latest_crawls(
        page: Page, served: Served) -> None:
    _log_in(page, served, served.viewer)
    problem = page.locator("#source-alerts li")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("demo-shop")
    expect(problem).to_contain_text("3 of the last 3 crawls failed (HTTP 503)")
    expect(page.locator("#crawl-rows tr.failed")).to_contain_text("503×6")
    expect(page.locator("#crawl-rows tr")).to_have_count(3)


def test_a_viewer_is_told_it_may_not_acknowledge(page: Page, served: Served) -> None:
    alert = ALERTS[0]
    _log_in(page, served, served.viewer)
    _open(page, alert.comment_id)
    page.click('#action-form button[data-action="acknowledge"]')
    expect(page.locator("#action-message")).to_contain_text("Not allowed")
    expect(page.locator("#detail-status")).to_have_text("open")
    assert served.api(f"/alerts/{alert.comment_id}", served.viewer).json()["status"] == "open"


def test_a_revoked_token_returns_to_the_login_form(page: Page, served: Served) -> None:
    _log_in(page, served, served.operator)
    engine = make_engine(served.database_url)
    with Session(engine) as session, session.begin():
        token_id = next(t.id for t in list_tokens(session) if t.name == "ops-operator")
        revoke_token(session, token_id)
    engine.dispose()
    # Clicked from script: a request the page had in flight may already have met the revoked
    # token and shown the login form, hiding the button.
    page.evaluate("() => document.getElementById('refresh').click()")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#login-error")).to_contain_text("not accepted")
    assert page.locator("#alert-rows tr").count() == 0
    assert page.evaluate("() => sessionStorage.length") == 0


def test_live_refresh_shows_a_new_alert_and_can_be_turned_off(
        page: Page, served: Served) -> None:
    _log_in(page, served, served.viewer)
    expect(page.locator("#updated-at")).to_contain_text("updated")
    engine = make_engine(served.database_url)
    with Session(engine) as session, session.begin():
        record_scores(session, [_row(900, "华为", "demo-weibo", 0, HUAWEI_BAD[0], True)])
    engine.dispose()
    expect(page.locator('#alert-rows tr[data-comment-id="demo-weibo:900"]')).to_be_attached(
        timeout=15_000)
    page.uncheck("#live")
    engine = make_engine(served.database_url)
    with Session(engine) as session, session.begin():
        record_scores(session, [_row(901, "华为", "demo-weibo", 0, HUAWEI_BAD[1], True)])
    engine.dispose()
    page.wait_for_timeout(12_000)
    assert page.locator('#alert-rows tr[data-comment-id="demo-weibo:901"]').count() == 0


def test_more_pages_load_with_the_cursor(page: Page, served: Served) -> None:
    engine = make_engine(served.database_url)
    with Session(engine) as session, session.begin():
        record_scores(session, [_row(1000 + n, "京东", "demo-bulk", 50 + n, JD_BAD[0], True)
                                for n in range(60)])
    engine.dispose()
    page.goto(served.url)
    page.fill("#token-input", served.viewer)
    page.click("#login-form button")
    expect(page.locator("#alert-rows tr")).to_have_count(50)
    page.click("#more")
    expect(page.locator("#alert-rows tr")).to_have_count(len(ALERTS) + 60)
    expect(page.locator("#more")).to_be_hidden()


def test_an_operator_adds_and_expires_a_silence_and_a_viewer_may_not(
        browser: Browser, page: Page, served: Served) -> None:
    _log_in(page, served, served.operator)
    expect(page.locator("#silence-rows tr")).to_have_count(1)
    page.select_option('#silence-form select[name="kind"]', "surge")
    page.fill('#silence-form input[name="keyword"]', "华为")
    page.fill('#silence-form input[name="hours"]', "2")
    page.fill('#silence-form input[name="comment"]', "发布会期间")
    page.click('#silence-form button[type="submit"]')
    row = page.locator("#silence-rows tr", has_text="发布会期间")
    expect(row).to_contain_text("kind=surge, keyword=华为")
    expect(row).to_contain_text("ops-operator")
    silence, _ = served.api("/silences", served.viewer).json()
    assert silence["matchers"] == {"kind": "surge", "keyword": "华为"}
    assert silence["active"] and silence["created_by"] == "ops-operator"
    ends = datetime.fromisoformat(silence["ends_at"])
    ends = ends if ends.tzinfo else ends.replace(tzinfo=UTC)
    assert abs(ends - datetime.now(UTC) - timedelta(hours=2)) < timedelta(minutes=5)
    viewer = browser.new_context().new_page()
    _log_in(viewer, served, served.viewer)
    viewer.locator("#silence-rows tr", has_text="发布会期间").locator("button").click()
    expect(viewer.locator("#silence-form-message")).to_contain_text("Not allowed")
    viewer.context.close()
    row.locator("button").click()
    expect(row).to_have_count(0)
    assert [s["comment"] for s in served.api("/silences", served.viewer).json()] == [
        "商城维护中，明天恢复"]


def test_the_screenshot_in_the_docs_is_small() -> None:
    """The README's picture is committed: kept small so the repository stays light."""
    assert (REPO_ROOT / "docs" / "images" / "dashboard.png").stat().st_size < 300_000
