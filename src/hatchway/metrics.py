"""Prometheus metrics: counters that request handlers increment, gauges read at scrape time.

Counters live in this module and are incremented with the `record_*` functions. With several
worker processes, `hatchway serve` points prometheus-client's multiprocess mode at a folder
(`PROMETHEUS_MULTIPROC_DIR`, which the workers inherit), so that every scrape, whichever
worker answers it, sums the counters of all workers. The gauges about the outbox and emergency
requests are computed from the database on each scrape, so they are the same on every worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hatchway.db.engine import Database
from hatchway.db.models import EmergencyRequest, OutboxMessage

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PENDING_MAIL_STATUSES = ("queued", "retrying")

SIGN_INS = Counter(
    "hatchway_sign_ins",
    "Completed sign-in attempts by kind (sso, local) and outcome (success or the failure reason).",
    ["kind", "outcome"],
    registry=None,
)
PROVISIONING_REQUESTS = Counter(
    "hatchway_provisioning_requests",
    "Provisioning API requests by route template, method and response status.",
    ["route", "method", "status"],
    registry=None,
)
VERIFICATION_FAILURES = Counter(
    "hatchway_verification_failures",
    "Failed checks of SSO settings against the identity provider, by reason.",
    ["reason"],
    registry=None,
)
COUNTERS: tuple[Counter, ...] = (SIGN_INS, PROVISIONING_REQUESTS, VERIFICATION_FAILURES)

# The label of requests that matched no route, so that scanners cannot create a label per path.
UNMATCHED_ROUTE = "unmatched"


def record_sign_in(kind: str, outcome: str) -> None:
    """Count one finished sign-in attempt; `outcome` is 'success' or a failure reason."""
    SIGN_INS.labels(kind=kind, outcome=outcome).inc()


def record_verification_failure(reason: str) -> None:
    """Count one failed verification of SSO settings; `reason` is a check name or failure code."""
    VERIFICATION_FAILURES.labels(reason=reason).inc()


def record_provisioning_request(route: str, method: str, status: int) -> None:
    PROVISIONING_REQUESTS.labels(route=route, method=method, status=str(status)).inc()


class ProvisioningMetricsMiddleware:
    """Count each Provisioning API request under its route template, never its raw path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            # The router stores the matched route in the scope it was given, which is this one.
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED_ROUTE
            record_provisioning_request(template, scope["method"], status)


class DatabaseCollector(Collector):
    """Gauges computed from the database at scrape time: outbox and emergency requests."""

    def __init__(self, database: Database, now: datetime) -> None:
        self._database = database
        self._now = now

    def collect(self) -> Iterator[Metric]:
        with self._database.read() as session:
            by_status = dict(
                session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                ).all()
            )
            oldest_pending = session.scalar(
                select(func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status.in_(PENDING_MAIL_STATUSES)
                )
            )
            by_channel = dict(
                session.execute(
                    select(EmergencyRequest.channel, func.count()).group_by(
                        EmergencyRequest.channel
                    )
                ).all()
            )
        yield from self._outbox_metrics(by_status, oldest_pending)
        yield self._emergency_metric(by_channel)

    def _outbox_metrics(
        self, by_status: dict[str, int], oldest_pending: datetime | None
    ) -> Iterator[Metric]:
        messages = GaugeMetricFamily(
            "hatchway_outbox_messages", "Mail in the outbox by status.", labels=["status"]
        )
        for status, count in sorted(by_status.items()):
            messages.add_metric([status], count)
        yield messages
        depth = sum(by_status.get(status, 0) for status in PENDING_MAIL_STATUSES)
        yield GaugeMetricFamily(
            "hatchway_outbox_depth", "Mail waiting for delivery (queued or retrying).", value=depth
        )
        # Stored timestamps have no time zone on SQLite; the column type returns them as UTC.
        age = (self._now - oldest_pending).total_seconds() if oldest_pending is not None else 0.0
        yield GaugeMetricFamily(
            "hatchway_outbox_oldest_pending_age_seconds",
            "Age of the oldest mail waiting for delivery; 0 when none waits.",
            value=max(0.0, age),
        )

    def _emergency_metric(self, by_channel: dict[str, int]) -> Metric:
        requests = GaugeMetricFamily(
            "hatchway_emergency_requests",
            "Emergency access requests stored, by channel.",
            labels=["channel"],
        )
        for channel, count in sorted(by_channel.items()):
            requests.add_metric([channel], count)
        return requests


def render(database: Database, now: datetime, multiprocess_dir: Path | None) -> bytes:
    """Return every metric in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir is not None:
        MultiProcessCollector(registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
    else:
        for counter in COUNTERS:
            registry.register(counter)
    registry.register(DatabaseCollector(database, now))
    return generate_latest(registry)


def prepare_multiprocess_dir(directory: Path) -> None:
    """Create the folder for multiprocess metrics and delete the files of an earlier run."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    logger.info("metrics.multiprocess directory=%s", directory)
