"""Prometheus metrics.

Two sources: counters and histograms the worker updates as it sends
(:func:`observe_attempt`), kept in this process's :data:`REGISTRY`, and gauges
read from the database on every scrape (:class:`DatabaseCollector`), so any
API process reports the queue of the whole deployment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from docrelay import clock
from docrelay.storage.db import Database
from docrelay.storage.models import Delivery, Design, SalesforceUsage

REGISTRY = CollectorRegistry(auto_describe=True)

ATTEMPTS = Counter(
    "docrelay_delivery_attempts",
    "Delivery attempts by destination kind and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
ATTEMPT_DURATION = Histogram(
    "docrelay_delivery_attempt_duration_seconds",
    "Time one delivery attempt took, from send to classified outcome.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)

_heartbeat_lock = threading.Lock()
_last_worker_tick: float | None = None


def observe_attempt(kind: str, outcome: str, duration_seconds: float) -> None:
    ATTEMPTS.labels(kind=kind, outcome=outcome).inc()
    ATTEMPT_DURATION.labels(kind=kind).observe(duration_seconds)


def worker_ticked() -> None:
    """Record that this process's worker loop completed a cycle (used by /readyz)."""
    global _last_worker_tick
    with _heartbeat_lock:
        _last_worker_tick = time.monotonic()


def seconds_since_worker_tick() -> float | None:
    with _heartbeat_lock:
        if _last_worker_tick is None:
            return None
        return time.monotonic() - _last_worker_tick


class DatabaseCollector(Collector):
    """Gauges computed from the database at scrape time."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        by_state = GaugeMetricFamily(
            "docrelay_deliveries",
            "Deliveries by state and destination kind.",
            labels=["state", "kind"],
        )
        depth = GaugeMetricFamily(
            "docrelay_queue_depth", "Deliveries due now (pending or retrying, available)."
        )
        oldest = GaugeMetricFamily(
            "docrelay_oldest_due_delivery_age_seconds",
            "Age of the oldest delivery that is due and not yet sent.",
        )
        breakers = GaugeMetricFamily(
            "docrelay_breakers", "Notification designs by circuit breaker state.", labels=["state"]
        )
        usage = GaugeMetricFamily(
            "docrelay_salesforce_api_usage_ratio",
            "Salesforce API calls used in the rolling day divided by the org's allocation.",
            labels=["org"],
        )
        now = clock.now()
        with self.database.session() as session:
            for state, kind, count in session.execute(
                select(Delivery.state, Delivery.kind, func.count()).group_by(
                    Delivery.state, Delivery.kind
                )
            ):
                by_state.add_metric([state, kind], count)
            due_filter = (Delivery.state.in_(("pending", "retrying")), Delivery.available_at <= now)
            depth.add_metric([], session.scalar(select(func.count()).where(*due_filter)) or 0)
            oldest_time = session.scalar(select(func.min(Delivery.available_at)).where(*due_filter))
            oldest.add_metric(
                [], (now - clock.ensure_utc(oldest_time)).total_seconds() if oldest_time else 0.0
            )
            for state, count in session.execute(
                select(Design.breaker_state, func.count()).group_by(Design.breaker_state)
            ):
                breakers.add_metric([state], count)
            for row in session.scalars(select(SalesforceUsage)):
                if row.allocation:
                    usage.add_metric([row.org_key], row.used / row.allocation)
        yield from (by_state, depth, oldest, breakers, usage)
