"""What each process counts for Prometheus, served at /metrics.

Every process (the web app, each worker, ``aggregator run``) has its own
registry: Prometheus scrapes each and sums. Counters only ever grow over a
process's life; the queue depth is read from the database at each scrape,
so every process shows the same, whole-queue figure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from storage.fetches import FetchRecord

if TYPE_CHECKING:
    from aggregator.digests import DigestRunSummary

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Fetches of small municipal servers take from tens of milliseconds to the
# fetch timeout.
_FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 120, 600)

QueueDepth = Callable[[], Mapping[tuple[str, str], int]]


class Metrics:
    """The counters and histograms of one process."""

    def __init__(self, queue_depth: QueueDepth | None = None) -> None:
        self.registry = CollectorRegistry()
        self.fetches = Counter(
            "aggregator_fetches",
            "Fetches of sources by outcome (ok, not_modified, error).",
            ["outcome"],
            registry=self.registry,
        )
        self.fetch_seconds = Histogram(
            "aggregator_fetch_duration_seconds",
            "Time from the start of a fetch to its stored outcome.",
            ["outcome"],
            buckets=_FETCH_BUCKETS,
            registry=self.registry,
        )
        self.items = Counter(
            "aggregator_items",
            "Items through each stage: stored (new), updated, placed in "
            "stories, classified.",
            ["stage"],
            registry=self.registry,
        )
        self.task_seconds = Histogram(
            "aggregator_task_duration_seconds",
            "Run time of a worker's jobs by task and outcome.",
            ["task", "outcome"],
            buckets=_TASK_BUCKETS,
            registry=self.registry,
        )
        self.lease_expiries = Counter(
            "aggregator_lease_expiries",
            "Jobs of workers that stopped sending heartbeats, given to the others.",
            registry=self.registry,
        )
        self.digests = Counter(
            "aggregator_digests",
            "Digests by outcome: sent, empty (nothing new), failed (refused for "
            "good), deferred (the mail server was unavailable; sent later).",
            ["outcome"],
            registry=self.registry,
        )
        if queue_depth is not None:
            self.registry.register(_QueueCollector(queue_depth))

    def record_fetch(self, record: FetchRecord) -> None:
        self.fetches.labels(record.outcome).inc()
        self.fetch_seconds.labels(record.outcome).observe(record.elapsed_ms / 1000)
        if record.items_new:
            self.items.labels("stored").inc(record.items_new)
        if record.items_updated:
            self.items.labels("updated").inc(record.items_updated)

    def record_items(self, stage: str, count: int) -> None:
        if count:
            self.items.labels(stage).inc(count)

    def record_digests(self, summary: DigestRunSummary) -> None:
        """Count what one digest run did."""
        for outcome, count in (
            ("sent", summary.sent),
            ("empty", summary.empty),
            ("failed", summary.failed),
            ("deferred", summary.deferred),
        ):
            if count:
                self.digests.labels(outcome).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _QueueCollector(Collector):
    """Jobs waiting and running, read from the queue at each scrape."""

    def __init__(self, queue_depth: QueueDepth) -> None:
        self._queue_depth = queue_depth

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "aggregator_queue_jobs",
            "Jobs in the workers' queue by queue and status (todo, doing).",
            labels=["queue", "status"],
        )
        try:
            depth = self._queue_depth()
        except Exception as error:
            # A scrape while the database is away still shows the counters.
            logger.warning("Queue depth unavailable", extra={"error": str(error)})
            return
        for (queue, status), count in sorted(depth.items()):
            family.add_metric([queue, status], count)
        yield family
