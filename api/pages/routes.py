"""Routes of the web pages: the pages, their static files, their configuration and look-ups."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse

from rescue.api.deps import AnyRoleDep, AppDep, DeskDep
from rescue.api.pages.places import Place, find_places
from rescue.api.pages.search import moment, search
from rescue.api.responses import SIGNED_IN, answers

STATIC = Path(__file__).resolve().parent.parent / "static"
PAGES = {"console": "console.html", "tablet": "tablet.html", "audit": "audit.html"}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# The pages change with the server; revalidating (ETag) costs a round trip, never a stale page.
NO_STALE = {"Cache-Control": "no-cache"}

router = APIRouter(tags=["pages"])


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / PAGES[name], media_type=MEDIA_TYPES[".html"], headers=NO_STALE)


@router.get("/console", include_in_schema=False)
def console_page() -> FileResponse:
    return _page("console")


@router.get("/tablet", include_in_schema=False)
def tablet_page() -> FileResponse:
    return _page("tablet")


@router.get("/audit", include_in_schema=False)
def audit_page() -> FileResponse:
    return _page("audit")


@router.get("/static/{path:path}", include_in_schema=False)
def static_file(path: str) -> FileResponse:
    target = (STATIC / path).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file():
        raise HTTPException(404, "no such file")
    media_type = MEDIA_TYPES.get(target.suffix, "application/octet-stream")
    return FileResponse(target, media_type=media_type, headers=NO_STALE)


@router.get("/api/pages/config")
def page_config(request: Request) -> dict[str, Any]:
    """Settings the pages need before sign-in: map tiles, GPS rate, offer timeout (no auth).

    `tile_url` (env `RESCUE_TILE_URL`, e.g. `https://tiles.example/{z}/{x}/{y}.png`)
    draws Web Mercator tiles under the map; without it the pages draw the
    offline basemap they ship. `position_interval_s` (env
    `RESCUE_TABLET_POSITION_S`) is how often a tablet sends its GPS position.
    """
    settings = request.app.state.rescue.settings
    return {
        "tile_url": settings.tile_url or None,
        "position_interval_s": settings.tablet_position_s,
        "offer_timeout_s": settings.offer_timeout_s,
        "sla": {"unoffered_warn_s": 300, "offer_warn_s": 20},
    }


@router.get("/api/pages/whoami", responses=answers(*SIGNED_IN))
def whoami(principal: AnyRoleDep) -> dict[str, Any]:
    """The name, role and van of the token (any role): the pages check a sign-in with it."""
    return {"name": principal.name, "role": principal.role, "van_id": principal.van_id}


@router.get("/api/places", responses=answers(*SIGNED_IN, 422))
def places(
    _: AnyRoleDep,
    q: Annotated[str, Query(min_length=1, max_length=60, description="Chinese or English name")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[Place]:
    """Chinese cities matching a name, with coordinates, for the console's place search."""
    return find_places(q, limit)


def _moment(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return moment(value)
    except ValueError:
        raise HTTPException(
            422,
            [{"loc": ["query", name], "msg": "an ISO-8601 date or moment", "type": "value_error"}],
        ) from None


@router.get("/api/incidents/search", tags=["incidents"], responses=answers(*SIGNED_IN, 403, 422))
def search_incidents(
    app: AppDep,
    _: DeskDep,
    vin: Annotated[str | None, Query(max_length=32, description="any part of the VIN")] = None,
    plate: Annotated[str | None, Query(max_length=16, description="any part of the plate")] = None,
    station: Annotated[
        str | None, Query(max_length=64, description="the station of its van, or towed to")
    ] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    from_: Annotated[
        str | None, Query(alias="from", description="reported at or after (ISO-8601)")
    ] = None,
    to: Annotated[str | None, Query(description="reported at or before (ISO-8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Incidents by VIN, plate, station or report time, newest first (operator, auditor).

    Reads the live board, which holds every incident of the log; a date
    without an offset is taken as UTC.
    """
    app.follower.catch_up()
    with app.view.lock:
        docs = [dict(doc) for doc in app.view.incidents.values()]
    return search(
        docs,
        limit,
        vin=vin,
        plate=plate,
        station=station,
        status=status,
        after=_moment("from", from_),
        before=_moment("to", to),
    )
