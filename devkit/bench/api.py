"""``yuqing bench api``: how fast the REST API lists alerts from a store holding many of them.

The store is seeded with ``alerts`` alerts spread over the last 30 days (six sources, a dozen
watched keywords of very different frequency, scores from 0.5 up, a few withdrawn, some already
acknowledged or resolved; the texts are the test split's reviews), PostgreSQL's statistics are
brought up to date as its autovacuum would soon after, a viewer token is made, and
``yuqing serve`` runs in a process of its own on loopback, as an operator runs it. The bench
then times ``requests`` sequential ``GET /alerts`` per filter shape over one keep-alive
connection, from sending the request to the last byte of the response, after a few untimed
warm-up requests, and reports p50, p95 and max per shape and over all of them.

Every figure includes the server's own work (token check, query, JSON) and loopback HTTP; on a
shared machine the client and the server share the CPU, as they would on a small host.
"""

from __future__ import annotations

import logging
import os
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.orm import Session
from tqdm import tqdm

from devkit.bench.workdir import BenchDir
from devkit.child import Child
from devkit.postgres import PostgresServer
from models.data import load_examples
from pipeline.api.routers.alerts import encode_cursor
from pipeline.broker import free_port
from pipeline.config import Settings
from pipeline.errors import OperatorError
from pipeline.store.bulk import load_alerts, settle
from pipeline.store.engine import make_engine
from pipeline.store.migrations import upgrade
from pipeline.store.models import Alert
from pipeline.store.queries import count
from pipeline.store.tokens import Role, create_token

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DAYS = 30
SOURCES = ("demo-weibo", "demo-shop", "demo-forum", "demo-rss", "demo-tieba", "demo-news")
# Watched keywords, the first far more often mentioned than the last (Zipf-like weights).
KEYWORDS = ("酒店", "服务", "前台", "早餐", "价格", "屏幕", "电池", "质量", "物流", "客服",
            "售后", "退款")
KEYWORD_SHARE = 0.6  # alerts that mention at least one watched keyword
WITHDRAWN_SHARE = 0.03
STATUSES = (("open", 0.7), ("acknowledged", 0.2), ("resolved", 0.1))
BATCH = 2000  # rows per executemany: under SQLite's limit on bound parameters per statement
WARMUP = 5
TIMEOUT_S = 30.0
START_TIMEOUT_S = 60.0
TOTAL = "overall"


class ApiBenchError(OperatorError):
    """The API could not be measured; the message says why."""


@dataclass(frozen=True)
class Latency:
    requests: int
    errors: int  # responses other than 200
    page: int | None  # alerts on the page (the first timed response); None over all shapes
    p50_ms: float
    p95_ms: float
    max_ms: float


def seed_rows(alerts: int, now: datetime, seed: int = 0) -> list[dict[str, Any]]:
    """``alerts`` alerts, as the ``alerts`` table holds them, stored over the last 30 days."""
    rng = random.Random(seed)
    texts = [example.text for example in load_examples("test")]
    weights = [1 / (rank + 1) for rank in range(len(KEYWORDS))]
    states, shares = zip(*STATUSES, strict=True)
    rows = []
    for n in range(alerts):
        created = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        crawled = created - timedelta(seconds=rng.uniform(1, 120))
        source = rng.choice(SOURCES)
        keywords = sorted(set(rng.choices(KEYWORDS, weights, k=rng.choice((1, 1, 2)))))
        text = rng.choice(texts)
        rows.append({
            "comment_id": f"{source}:{n}", "source": source,
            "url": f"https://{source}.example/c/{n}", "author": f"user{rng.randrange(5000)}",
            "published_at": crawled - timedelta(minutes=rng.uniform(0, 600)),
            "crawled_at": crawled, "raw_text": text, "clean_text": text, "tokens": [],
            "keywords": keywords if rng.random() < KEYWORD_SHARE else [],
            "label": "negative", "score": round(0.5 + 0.5 * rng.betavariate(3, 1), 4),
            "model": "lstm", "model_version": "lstm-1.2.0", "kafka_topic": "comments",
            "kafka_partition": n % 6, "kafka_offset": n // 6, "created_at": created,
            "updated_at": created,
            "withdrawn_at": created + timedelta(hours=1) if rng.random() < WITHDRAWN_SHARE
            else None,
            "status": rng.choices(states, shares)[0],
        })  # fmt: skip
    return rows


def shapes(rows: list[dict[str, Any]], now: datetime) -> dict[str, dict[str, str]]:
    """The filter shapes timed, as query parameters: what an operator's screens ask for. The
    deep page is the one after the alert halfway down the newest-first list."""
    standing = sorted((row for row in rows if row["withdrawn_at"] is None),
                      key=lambda row: (row["created_at"], row["comment_id"]), reverse=True)
    middle = standing[len(standing) // 2]
    cursor = encode_cursor(Alert(created_at=middle["created_at"], comment_id=middle["comment_id"]))
    return {
        "first page": {},
        "since 24 h": {"since": (now - timedelta(hours=24)).isoformat()},
        "keyword": {"keyword": KEYWORDS[4]},
        "source + min_score": {"source": SOURCES[1], "min_score": "0.9"},
        "text search": {"q": "电池"},
        "deep cursor": {"cursor": cursor},
    }


def prepare(database_url: str) -> None:
    """Migrate the store, and refuse one that holds alerts: the bench adds its own and leaves
    them, which must never happen to a store in use."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            if stored := count(session, Alert):
                raise ApiBenchError(f"the store already holds {stored} alerts; the API bench "
                                    "fills an empty one (give a new database)")
    finally:
        engine.dispose()


def seed(database_url: str, alerts: int, now: datetime) -> tuple[list[dict[str, Any]], str]:
    """Fill a prepared store; returns the rows and a viewer token."""
    engine = make_engine(database_url)
    try:
        rows = seed_rows(alerts, now)
        with tqdm(total=len(rows), desc="seed alerts", unit="alert") as progress:
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                with Session(engine) as session, session.begin():
                    load_alerts(session, batch)
                progress.update(len(batch))
        with Session(engine) as session, session.begin():
            settle(session)
            token = create_token(session, "bench-api", Role.VIEWER)
    finally:
        engine.dispose()
    return rows, token


@contextmanager
def served(settings: Settings, work: BenchDir) -> Iterator[str]:
    """``yuqing serve`` on a free loopback port, answering; yields its base URL."""
    port = free_port()
    child = Child(["serve", "--host", HOST, "--port", str(port)], settings,
                  work.path / "serve.log")
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if child.poll() is not None:
                raise ApiBenchError(f"yuqing serve exited: {child.last_line()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ApiBenchError(f"yuqing serve did not answer within {START_TIMEOUT_S:.0f}s")
            time.sleep(0.2)
        yield base
    finally:
        child.interrupt(timeout_s=10)


def percentile(values: list[float], share: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[share - 1]


def latency(seconds: list[float], errors: int, page: int | None) -> Latency:
    ms = [s * 1000 for s in seconds]
    return Latency(requests=len(ms), errors=errors, page=page,
                   p50_ms=round(percentile(ms, 50), 1), p95_ms=round(percentile(ms, 95), 1),
                   max_ms=round(max(ms), 1))


def measure(base: str, token: str, queries: dict[str, dict[str, str]], requests: int
            ) -> dict[str, Latency]:
    """Sequential requests per shape over one keep-alive connection; every response checked."""
    figures, everything, failed = {}, [], 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=TIMEOUT_S) as client:
        for name, params in queries.items():
            for _ in range(WARMUP):
                client.get("/alerts", params=params)
            seconds, errors, page = [], 0, -1
            for _ in tqdm(range(requests), desc=name, unit="req", leave=False):
                started = time.perf_counter()
                response = client.get("/alerts", params=params)
                seconds.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1
                elif page < 0:
                    page = len(response.json()["alerts"])
            figures[name] = latency(seconds, errors, page)
            everything += seconds
            failed += errors
            log.info("%s: p50 %.1f ms, p95 %.1f ms", name, figures[name].p50_ms,
                     figures[name].p95_ms)
    figures[TOTAL] = latency(everything, failed, None)
    return figures


def run(settings: Settings, alerts: int, requests: int, database_url: str | None = None,
        postgres: bool = False) -> dict[str, Any]:
    """Seed a store, serve it, time the alert list; ``database_url`` names an empty store to
    use (default: a fresh SQLite file), ``postgres`` starts a throwaway PostgreSQL server."""
    if postgres and database_url is not None:
        raise ApiBenchError("give --database-url or --postgres, not both")
    if database_url is not None:
        prepare(database_url)
    with BenchDir("yuqing-bench-api-") as work, _store(work, database_url, postgres) as url:
        if database_url is None:
            prepare(url)
        now = datetime.now(UTC)
        started = time.perf_counter()
        rows, token = seed(url, alerts, now)
        seed_s = time.perf_counter() - started
        queries = shapes(rows, now)
        with served(settings.model_copy(update={"database_url": url}), work) as base:
            load = os.getloadavg()[0]
            figures = measure(base, token, queries, requests)
            load = max(load, os.getloadavg()[0])
        shown = {name: asdict(value) for name, value in figures.items()}
        ok = figures[TOTAL].errors == 0 and all(
            (value.page or 0) > 0 for name, value in figures.items() if name != TOTAL)
        work.passed = ok
        return {
            "ok": ok, "store": url.partition(":")[0].partition("+")[0], "alerts": alerts,
            "requests": requests, "seed_s": round(seed_s, 1), "cpu_cores": os.cpu_count(),
            # Others' work on a shared machine shows in the tail; this says how much there was.
            "load_average_1m": round(load, 2),
            "date": now.date().isoformat(),
            "queries": queries,
            "latency": shown,
        }  # fmt: skip


@contextmanager
def _store(work: BenchDir, database_url: str | None, postgres: bool) -> Iterator[str]:
    if postgres:
        if missing := PostgresServer.missing():
            raise ApiBenchError(missing)
        with PostgresServer() as server:
            yield server.url
        return
    yield database_url or f"sqlite:///{work.path / 'yuqing.db'}"


def table(result: dict[str, Any]) -> str:
    """The Markdown table docs/benchmarks.md shows."""
    lines = [f"{result['store']}, {result['alerts']:,} alerts, {result['requests']} requests a "
             f"shape; {result['cpu_cores']} cores, load average up to "
             f"{result['load_average_1m']}", "",
             "| shape | alerts on the page | p50 ms | p95 ms | max ms |", "|---|--:|--:|--:|--:|"]
    for name, figures in result["latency"].items():
        page = "" if figures["page"] is None else figures["page"]
        lines.append(f"| {name} | {page} | {figures['p50_ms']} | {figures['p95_ms']} | "
                     f"{figures['max_ms']} |")
    return "\n".join(lines)
