"""Operations metrics in the Prometheus text format at `/metrics`.

Each server process keeps its own registry (several processes on one
PostgreSQL are scraped one by one). Counters and histograms are updated where
the work happens; gauges that describe state (sockets, projection lag) are
read when scraped, so they cost nothing between scrapes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

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
        self.dropped = Gauge(
            "rescue_dropped_sockets_total",
            "Sockets closed for being too slow",
            registry=self.registry,
        )

    def refresh(self, api: FastAPI) -> None:
        state = api.state
        self.events.set(state.rescue.view.position)
        runner = state.projections
        stored = runner.models.position if runner.models is not None else 0
        self.projection_lag.set(max(0, state.rescue.view.position - stored))
        self.sockets.set(len(state.hub.clients))
        self.dropped.set(state.hub.dropped_clients)


def install(api: FastAPI, metrics: Metrics) -> None:
    @api.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = route_of(request.scope)  # the template: one series per route, not per id
        metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        return response

    router = APIRouter(tags=["health"])

    @router.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        metrics.refresh(request.app)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    api.include_router(router)


__all__ = ["Metrics", "install"]
