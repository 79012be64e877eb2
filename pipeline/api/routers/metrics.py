"""``/metrics``: the store's state and the job's Kafka lag in Prometheus' text format.

Counted from the store (and asked of Kafka) rather than kept in this process, so every API
replica reports the same numbers and a restart loses nothing. The crawl counters of a running
crawl scheduler are served by the scheduler itself (``yuqing schedule --metrics-port``).
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session

from pipeline.api.auth import Db, viewer
from pipeline.api.kafka_lag import Lag
from pipeline.store.crawls import open_source_alerts
from pipeline.store.deliveries import DeliveryState, delivery_counts
from pipeline.store.queries import alert_counts, dead_letter_counts

router = APIRouter(tags=["metrics"], dependencies=[Depends(viewer)])


class _StoreCollector(Collector):
    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[GaugeMetricFamily]:
        alerts = GaugeMetricFamily("yuqing_alerts", "Standing alerts, by operator status.",
                                   labels=["status"])
        for status, number in sorted(alert_counts(self.session).items()):
            alerts.add_metric([status], number)
        yield alerts
        letters = GaugeMetricFamily("yuqing_dead_letters", "Dead letters stored, by the stage "
                                    "that refused them.", labels=["stage"])
        for stage, number in sorted(dead_letter_counts(self.session).items()):
            letters.add_metric([stage], number)
        yield letters
        crawl_alerts = GaugeMetricFamily("yuqing_crawl_health_alerts", "Open crawl-health "
                                         "alerts, by profile and kind (silent, failing).",
                                         labels=["profile", "kind"])
        for alert in open_source_alerts(self.session):
            crawl_alerts.add_metric([alert.profile_id, alert.kind], 1)
        yield crawl_alerts
        messages = GaugeMetricFamily("yuqing_notifications", "Notification messages, by state "
                                     "(sent, failed after their retries, pending, sending, "
                                     "silenced).", labels=["state"])
        counts = delivery_counts(self.session)
        for state in DeliveryState:
            messages.add_metric([state.value], counts.get(state.value, 0))
        yield messages


class _LagCollector(Collector):
    def __init__(self, lag: Lag | None) -> None:
        self.lag = lag

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("yuqing_kafka_up", "1 if Kafka answered the last lag query "
                                "(asked at most every 10 s), else 0.",
                                value=int(self.lag is not None))
        lag = GaugeMetricFamily("yuqing_consumer_lag", "Messages on Kafka the stream job has "
                                "not yet stored and committed, per topic partition.",
                                labels=["topic", "partition"])
        for (topic, partition), number in sorted((self.lag or {}).items()):
            lag.add_metric([topic, str(partition)], number)
        yield lag


@router.get("/metrics", response_class=Response)
def metrics(db: Db, request: Request) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StoreCollector(db))
    registry.register(_LagCollector(request.app.state.kafka_lag.read()))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
