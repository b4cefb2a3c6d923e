"""Operations metrics in the Prometheus text format at `/metrics`.

Each server process keeps its own registry (several processes on one
PostgreSQL are scraped one by one). Counters and histograms are updated where
the work happens; gauges that describe state (sockets, projection lag) are
read when scraped, so they cost nothing between scrapes.

Every HTTP request is counted and timed by `RequestMetrics`, a plain ASGI
middleware: it only watches the status go by, so the answer streams straight
through (no response object rebuilt, no extra task per request, as Starlette's
`BaseHTTPMiddleware` would).
"""

from __future__ import annotations

import time

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rescue.api.request_log import route_of


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rescue_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rescue_http_request_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.events = Gauge(
            "rescue_log_position",
            "Position of the last event this process has applied",
            registry=self.registry,
        )
        self.projection_lag = Gauge(
            "rescue_projection_lag_events",
            "Events in the log the read models do not reflect yet",
            registry=self.registry,
        )
        self.sockets = Gauge(
            "rescue_open_sockets", "Open board and crew WebSockets", registry=self.registry
        )
        self.tracker_refused = Counter(
            "rescue_tracker_reports_refused_total",
            "Tracker reports acknowledged but not used as fixes, by why",
            ["kind"],
            registry=self.registry,
        )
        self.tracker_sos = Counter(
            "rescue_tracker_sos_total", "SOS alarms from tracker apps", registry=self.registry
        )
        self.dropped = Gauge(
            "rescue_dropped_sockets_total",
            "Sockets closed for being too slow",
            registry=self.registry,
        )
        # The labelled series by (method, route[, status]): looking them up through
        # `labels()` checks and locks on every request.
        self._counted: dict[tuple[str, str, int], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Counts one answered request and its time."""
        counted = self._counted.get((method, route, status))
        if counted is None:
            counted = self.requests.labels(method, route, str(status))
            self._counted[method, route, status] = counted
        counted.inc()
        timed = self._timed.get((method, route))
        if timed is None:
            timed = self.latency.labels(method, route)
            self._timed[method, route] = timed
        timed.observe(seconds)

    def refresh(self, api: FastAPI) -> None:
        state = api.state
        self.events.set(state.rescue.view.position)
        runner = state.projections
        stored = runner.models.position if runner.models is not None else 0
        self.projection_lag.set(max(0, state.rescue.view.position - stored))
        self.sockets.set(len(state.hub.clients))
        self.dropped.set(state.hub.dropped_clients)


class RequestMetrics:
    """Counts and times each HTTP request by method, route template and status.

    The time runs until the application has sent the whole answer. WebSockets
    pass through: their count is a gauge read at scrape time.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # An error that escapes before any answer is answered 500 by the server.
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        except Exception:
            self._observe(scope, status, started)
            raise
        self._observe(scope, status, started)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        self.metrics.observe(
            scope["method"],
            route_of(scope),  # the template: one series per route, not per id
            status,
            time.perf_counter() - started,
        )


def install(api: FastAPI, metrics: Metrics) -> None:
    api.state.metrics = metrics  # for the routes that count what they do
    api.add_middleware(RequestMetrics, metrics=metrics)

    router = APIRouter(tags=["health"])

    @router.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        metrics.refresh(request.app)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    api.include_router(router)


__all__ = ["Metrics", "RequestMetrics", "install"]
