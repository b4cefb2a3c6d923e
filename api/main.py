"""Assembles the FastAPI application: routers, error mapping, and the long-lived parts."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from rescue.api import errors, metrics, pages, request_log
from rescue.api.positions_lane import PositionsLane
from rescue.api.ratelimit import RateLimiter
from rescue.api.routers import (
    audit,
    claims,
    customers,
    followups,
    health,
    incidents,
    live,
    messages,
    network,
    notifications,
    osmand,
    photos,
    privacy,
    scorecards,
    tracking,
    tracks,
    views,
    webhooks,
)
from rescue.api.routers import parts as parts_routes
from rescue.api.security_headers import SecurityHeaders
from rescue.api.store_reads import StoreReads
from rescue.api.van_read_lane import VanReadLane
from rescue.api.warm_up import warm_up
from rescue.bootstrap import bootstrap, start_server_parts
from rescue.services.clock import Clock, utcnow
from rescue.settings import Settings

# The server's observability is its own: Prometheus metrics at /metrics and a JSON line per
# request. FastAPI's OpenTelemetry hooks stay off, so no request pays for asking whether a
# tracer or meter provider has been set up, and no environment variable sets up exporters.
NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "auto_configure": False,
}


def settle_heap() -> None:
    """Takes what start-up built out of the cyclic garbage collector's sight.

    The network, the fleet index, the live board and the read models live as
    long as the process; left in the collector's oldest generation, every full
    collection walks all of them, a pause that grows with the network and that
    every live feed client sees as latency (frozen, they are skipped; the
    README gives the measured sizes). A larger first
    generation threshold makes the young collections, which the fan-out's
    short-lived dicts trigger, rarer.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    """The API over a store; `clock` is the services' notion of now (tests move it by hand)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        rescue = bootstrap(settings, clock=clock)
        parts = start_server_parts(rescue, asyncio.get_running_loop())
        api.state.rescue = rescue
        api.state.projections = parts.projections
        api.state.positions = parts.positions
        api.state.hub = parts.hub
        api.state.webhooks = parts.webhooks
        api.state.store_reads = reads = StoreReads()
        warm_up(api, rescue)
        settle_heap()
        try:
            yield
        finally:
            reads.close()
            parts.close()
            rescue.close()

    api = FastAPI(
        title="rescue",
        summary="Event-sourced roadside rescue and dispatch",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=NO_TELEMETRY,
    )
    api.state.limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
    # The customer's page has no account to limit: its limit is per client address.
    api.state.tracking_limiter = RateLimiter(
        settings.tracking_rate_per_s, settings.tracking_rate_burst
    )
    errors.install(api)
    # Innermost of ours, the lanes: what they answer is logged, counted and headed like the rest.
    api.add_middleware(VanReadLane, route=network.van_read_route())
    api.add_middleware(PositionsLane, route=network.positions_route())
    # Inside the metrics middleware, so an unhandled error it answers 500 is counted as one.
    request_log.install(api)
    metrics.install(api, metrics.Metrics())
    api.add_middleware(SecurityHeaders)  # outermost: every answer, errors too
    api.include_router(health.router)
    api.include_router(network.router)
    api.include_router(pages.router)  # before incidents: /api/incidents/search
    api.include_router(incidents.router)
    api.include_router(live.router)
    api.include_router(osmand.router)
    api.include_router(views.router)
    api.include_router(claims.router)
    api.include_router(followups.router)
    api.include_router(audit.router)
    api.include_router(privacy.router)
    api.include_router(messages.router)
    api.include_router(tracking.router)
    api.include_router(scorecards.router)
    api.include_router(tracks.router)
    api.include_router(notifications.router)
    api.include_router(webhooks.router)
    api.include_router(customers.router)
    api.include_router(parts_routes.router)
    api.include_router(photos.router)
    return api
