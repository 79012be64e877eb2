"""``yuqing demo-surge``: surge detection shown on the demo data, through the real job.

Three hours of comments, built from the held-out reviews that really mention two of the demo's
brands, go onto the embedded broker stamped with the times they would have arrived: every
10-minute window has a steady trickle of negatives about 京东 and about 携程 (and some
positives), and one window, 30 minutes before the end, has a burst of 25 negatives about 携程.
The streaming job then reads them as it reads any crawl, scores them with the configured model
and judges each window against each brand's baseline. The report lists the surges raised in
those three hours: the burst's one, and none for the trickles.

Each comment's publication time is its arrival time, as for a source crawled every few minutes;
the main demo's reviews were published in 2024 and, arriving now, are history rather than a
surge (``surge_max_age_s``), which is why ``yuqing demo`` raises none.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from devkit.demo import prepare
from models.data import load_examples
from pipeline.broker import EmbeddedBroker
from pipeline.config import Settings
from pipeline.kafka import ensure_topics, make_producer
from pipeline.records import CommentRecord, Label, make_id
from pipeline.store.engine import make_engine
from pipeline.store.models import StoredSurge
from pipeline.store.surges import select_surges
from pipeline.stream.run import RunSummary
from pipeline.stream.run import run as run_pipeline

SOURCE = "demo-surge"
BURST_BRAND = "携程"
TRICKLE_BRAND = "京东"
WINDOWS = 18  # three hours of 10-minute windows
BURST_WINDOW = 15  # 30 minutes before the end
BURST_SIZE = 25
# Negatives per window: 携程 one, 京东 alternately one and two; positives two per window.
TRICKLE = {BURST_BRAND: (1,), TRICKLE_BRAND: (1, 2)}
POSITIVES_PER_WINDOW = 2
SEND_TIMEOUT_S = 30


@dataclass(frozen=True)
class TimedComment:
    arrived_at: datetime
    record: CommentRecord


@dataclass(frozen=True)
class SurgeDemoReport:
    comments: int
    negatives_sent: dict[str, int]  # per brand, by the reviews' own labels
    pipeline: RunSummary
    surges: list[StoredSurge]
    first_window: datetime
    burst_window: datetime


def timeline(now: datetime, window_s: int) -> list[TimedComment]:
    """The three hours ending at the window ``now`` is in, oldest first. The reviews are
    reused in turn where a brand has fewer than the timeline needs; each use is a comment of
    its own (its own id)."""
    first = _window_start(now, window_s) - timedelta(seconds=window_s * WINDOWS)
    negatives = {brand: _cycle(brand, Label.NEGATIVE) for brand in TRICKLE}
    positives = itertools.cycle(
        example.text for example in load_examples("test")
        if example.label == Label.POSITIVE.index and any(brand in example.text
                                                         for brand in TRICKLE))
    comments: list[TimedComment] = []
    for window in range(WINDOWS):
        texts = [next(positives) for _ in range(POSITIVES_PER_WINDOW)]
        for brand, pattern in TRICKLE.items():
            texts += [next(negatives[brand]) for _ in range(pattern[window % len(pattern)])]
        if window == BURST_WINDOW:
            texts += [next(negatives[BURST_BRAND]) for _ in range(BURST_SIZE)]
        start = first + timedelta(seconds=window_s * window)
        step = window_s / (len(texts) + 1)
        for number, text in enumerate(texts, start=1):
            at = start + timedelta(seconds=step * number)
            native_id = f"w{window:02d}-{number:03d}"
            comments.append(TimedComment(at, CommentRecord(
                id=make_id(SOURCE, native_id), source=SOURCE, text=text,
                url=f"http://127.0.0.1/demo-surge/{native_id}", published_at=at,
                crawled_at=at)))
    return comments


def run_surge_demo(settings: Settings, idle_stop_s: float = 3.0) -> SurgeDemoReport:
    """Send the timeline through the embedded broker and the job; report the surges raised."""
    now = datetime.now(UTC)
    comments = timeline(now, settings.surge_window_s)
    prepare(settings)
    work = settings.data_dir / "demo"
    work.mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker(log_path=work / "surge-broker.log") as broker:
        settings = settings.model_copy(update={
            "kafka_bootstrap": broker.bootstrap,
            "keywords": sorted({*settings.keywords, *TRICKLE})})
        ensure_topics(settings)
        _send(settings, comments)
        run = run_pipeline([f"--until-idle={idle_stop_s}"], settings)
    first = comments[0].arrived_at
    first_window = _window_start(first, settings.surge_window_s)
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            surges = list(select_surges(session, since=first_window))
    finally:
        engine.dispose()
    texts = {text: brand for brand in TRICKLE for text in _texts(brand, Label.NEGATIVE)}
    sent: dict[str, int] = dict.fromkeys(TRICKLE, 0)
    for comment in comments:
        if comment.record.text in texts:
            sent[texts[comment.record.text]] += 1
    return SurgeDemoReport(
        comments=len(comments), negatives_sent=sent, pipeline=run, surges=surges,
        first_window=first_window,
        burst_window=first_window + timedelta(seconds=settings.surge_window_s * BURST_WINDOW))


def _send(settings: Settings, comments: list[TimedComment]) -> None:
    """Produce each comment stamped with its arrival time: the job's windows are Kafka time."""
    producer = make_producer(settings)
    try:
        sent = [producer.send(settings.topic_comments, key=comment.record.kafka_key(),
                              value=comment.record.kafka_value(),
                              timestamp_ms=int(comment.arrived_at.timestamp() * 1000))
                for comment in comments]
        producer.flush(timeout=SEND_TIMEOUT_S)
        for future in sent:
            future.get(timeout=SEND_TIMEOUT_S)  # raises if the broker refused one
    finally:
        producer.close(timeout=SEND_TIMEOUT_S)


def _texts(brand: str, label: Label) -> list[str]:
    """The held-out reviews with ``label`` that mention ``brand`` and no other brand here."""
    others = [other for other in TRICKLE if other != brand]
    return [example.text for example in load_examples("test")
            if example.label == label.index and brand in example.text
            and not any(other in example.text for other in others)]


def _cycle(brand: str, label: Label) -> Iterator[str]:
    return itertools.cycle(_texts(brand, label))


def _window_start(instant: datetime, window_s: int) -> datetime:
    seconds = int(instant.timestamp()) // window_s * window_s
    return datetime.fromtimestamp(seconds, UTC)
