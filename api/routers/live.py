"""WebSocket feeds: `/ws/board` for consoles, `/ws/crew` for a van's tablet.

Protocol (JSON text frames):
- authenticate with `?token=` or a first message `{"token": "..."}` (within 10 s);
- `/ws/board[?after=N][&bbox=minlon,minlat,maxlon,maxlat][&station=ID]`: without
  `after`, a `snapshot` (every station, van and open incident, with its
  `log_position`), then one `change` per document an event changes, each with
  its `log_position`. With `after=N`, the changes after N are replayed from the
  event log (so also after a server restart), then the live ones follow: no gap,
  no repeat. Changes that queued up while the previous frame was sent come as
  one `{"type": "batch", "log_position": last, "changes": [...]}`. A
  `heartbeat` with the current position every 15 s;
- `/ws/crew`: the van's document and its current job, then changes to that van
  and to any incident it was offered. The tablet may send
  `{"type": "positions", "reports": [...], "key": "..."}` and
  `{"type": "step", "incident_id": "...", "action": "accept", "data": {...}, "key": "..."}`;
  each gets `{"type": "ack", "ref": <its "ref">, "status": <HTTP status>, "body": ...}`,
  with the rules and idempotency of the REST routes.

Close codes: 4401 no valid token (unknown, revoked or expired), 4403 wrong
role, 4400 bad parameters or malformed frames, 4008 a client too slow to keep
up (reconnect with `after`), 4429 more frames than the account's rate limit
(every frame a client sends counts as a request), 1003 a binary frame, 1009 a
frame over 256 KiB, 1007 text that is not UTF-8 (closed by the server's
WebSocket layer).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from rescue.api.deps import DeskDep, principal_of
from rescue.api.errors import RETRY_AFTER_S, status_of
from rescue.api.position_input import BadPositions, read_positions
from rescue.api.ratelimit import RateLimiter, retry_after
from rescue.api.replies import idempotency_key, status_of_result
from rescue.api.responses import SIGNED_IN, answers
from rescue.api.schemas import dumped
from rescue.bootstrap import Rescue
from rescue.domain.access import Principal
from rescue.domain.errors import (
    Conflict,
    Invalid,
    RescueError,
    Unauthenticated,
    Unavailable,
)
from rescue.domain.vocabulary import Role
from rescue.projections.changes import board_changes, van_status
from rescue.projections.hub import (
    TOO_SLOW,
    BoardHub,
    Chunk,
    Client,
    Entry,
    bbox_filter,
    both,
    crew_filter,
    entry,
    frame,
    station_filter,
)
from rescue.services.positions import PositionWriter
from rescue.services.steps import STEPS, Step

router = APIRouter()
HEARTBEAT_S = 15.0
MAX_BATCH = 500  # changes per frame
# A resume further back than this gets a fresh snapshot instead of a replay.
MAX_REPLAY = 200_000
MAX_FRAME_BYTES = 256 * 1024
NOT_TEXT = 1003  # RFC 6455: a data type the endpoint cannot accept
TOO_BIG = 1009  # RFC 6455: a message too big to process
TOO_MANY = 4429  # like HTTP 429: over the account's rate limit
# The steps a crew takes, from the one table of steps the REST routes serve too.
CREW_STEPS: dict[str, Step] = {a: s for a, s in STEPS.items() if s.role is Role.CREW}


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def _authenticate(ws: WebSocket, app: Rescue, roles: set[str]) -> Principal:
    token = ws.query_params.get("token")
    if token is None:
        try:
            first = await asyncio.wait_for(ws.receive_text(), timeout=10)
            token = orjson.loads(first).get("token")
        except (TimeoutError, orjson.JSONDecodeError, AttributeError, KeyError):
            token = None
    if not isinstance(token, str) or not token:
        raise Refused(4401, 'send a token: ?token= or a first message {"token": ...}')
    try:
        principal = await principal_of(app, token)
    except Unauthenticated as error:
        raise Refused(4401, str(error)) from None
    if principal.role not in roles:
        raise Refused(4403, f"this feed is not for the {principal.role} role")
    return principal


async def _pump(ws: WebSocket, client: Client) -> None:
    """Sends the client's queue; stops when the socket or the client is closed.

    What queued up while the last send was on its way goes out as one `batch`
    frame (each change in it still carries its own log position): a client that
    keeps up gets single changes, one that lags catches up in few frames.
    """
    while True:
        await client.ready.wait()
        client.ready.clear()
        while (chunk := client.take(MAX_BATCH)) is not None:
            if client.closed_reason is not None:
                raise Refused(TOO_SLOW, client.closed_reason)
            if len(chunk.entries) == 1:
                await ws.send_text(chunk.body.decode())
            else:
                await ws.send_text(
                    b"".join(
                        (
                            b'{"type":"batch","log_position":',
                            str(chunk.last).encode(),
                            b',"changes":[',
                            chunk.body,
                            b"]}",
                        )
                    ).decode()
                )
        if client.closed_reason is not None:
            raise Refused(TOO_SLOW, client.closed_reason)


async def _heartbeat(ws: WebSocket, hub: BoardHub) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        await ws.send_text(
            orjson.dumps({"type": "heartbeat", "log_position": hub.view.position}).decode()
        )


async def _receive_frame(ws: WebSocket, principal: Principal) -> str:
    """The next text frame from a signed-in client; the socket is refused for a binary or
    oversized frame, or for frames beyond the account's rate limit (each frame counts as
    a request, as on the REST routes, so a socket is no way around the limit)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        raise Refused(NOT_TEXT, "frames must be text: JSON objects")
    if len(text) > MAX_FRAME_BYTES or (
        4 * len(text) > MAX_FRAME_BYTES and len(text.encode()) > MAX_FRAME_BYTES
    ):
        raise Refused(TOO_BIG, f"frames are limited to {MAX_FRAME_BYTES} bytes")
    limiter: RateLimiter = ws.app.state.limiter
    wait = limiter.wait_needed(principal.name)
    if wait:
        raise Refused(TOO_MANY, f"too many frames; reconnect in {retry_after(wait)} s")
    return str(text)


async def _drain_incoming(ws: WebSocket, principal: Principal) -> None:
    """Board clients only listen; reading notices a close, and rejects floods of junk."""
    while True:
        await _receive_frame(ws, principal)


def _replay(app: Rescue, after: int, upto: int) -> list[Entry]:
    """The change frames of the events after `after` up to `upto`, from the stored log."""
    frames: list[Entry] = []
    position = after
    while position < upto:
        page = app.store.recorder.select_notifications(
            start=position, limit=1000, stop=upto, inclusive_of_start=False
        )
        if not page:
            break
        for notification in page:
            event = app.store.mapper.to_domain_event(notification)
            for item in board_changes(event, app.view.van_ids):
                frames.append(entry(notification.id, item, frame(notification.id, item)))
            position = notification.id
    return frames


def _parse_board_params(ws: WebSocket) -> tuple[int | None, Any, str | None]:
    params = ws.query_params
    after: int | None = None
    if "after" in params:
        try:
            after = int(params["after"])
        except ValueError:
            raise Refused(4400, "after must be a log position (an integer)") from None
        if after < 0:
            raise Refused(4400, "after must not be negative")
    bbox = None
    if "bbox" in params:
        try:
            parts = [float(p) for p in params["bbox"].split(",")]
        except ValueError:
            raise Refused(4400, "bbox is minlon,minlat,maxlon,maxlat") from None
        if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
            raise Refused(4400, "bbox is minlon,minlat,maxlon,maxlat")
        bbox = (parts[0], parts[1], parts[2], parts[3])
    return after, bbox, params.get("station")


@router.websocket("/ws/board")
async def board_feed(ws: WebSocket) -> None:
    await ws.accept()
    app: Rescue = ws.app.state.rescue
    hub: BoardHub = ws.app.state.hub
    async with _session(ws, hub) as session:
        after, bbox, station = _parse_board_params(ws)
        principal = await _authenticate(ws, app, {Role.OPERATOR, Role.AUDITOR})
        client = Client(
            wanted=both(station_filter(app.view, station), bbox_filter(app.view, bbox)),
            limit=app.settings.ws_queue_limit,
            on_drop=_canceller(),
        )
        session.append(client)
        head = app.view.position
        fresh = after is None or head - after > MAX_REPLAY
        start, snapshot = hub.register(client, snapshot=fresh)
        if snapshot is not None:
            await ws.send_text(snapshot)
        else:
            assert after is not None
            # Live changes after `start` are queued already; the stored log supplies
            # those from `after` up to `start`, ahead of them in the queue. `covered`
            # stays at `start` (or at `after`, for a client further on than this
            # server's board): changes at or below it may still be on their way to
            # the hub, and queued behind the replay they would come twice.
            replayed = await run_in_threadpool(_replay, app, after, start)
            client.covered = max(start, after)
            if replayed:
                client.queue.appendleft(Chunk.of(replayed))
                client.queued += len(replayed)
            client.ready.set()
        await _serve(ws, client, hub, _drain_incoming(ws, principal))


@contextlib.asynccontextmanager
async def _session(ws: WebSocket, hub: BoardHub) -> AsyncIterator[list[Client]]:
    """One socket's life: its client (appended once made) is unregistered however it
    ends; a refusal closes with its code; a client dropped for being too slow is
    closed with 4008 without waiting on its full socket."""
    clients: list[Client] = []
    try:
        yield clients
    except Refused as refused:
        await _close(ws, refused.code, refused.reason)
    except WebSocketDisconnect:
        pass
    except asyncio.CancelledError:
        if not clients or clients[0].closed_reason is None:
            raise
        await _close_dropped(ws, clients[0])
    finally:
        for client in clients:
            hub.unregister(client)


def _canceller() -> Any:
    task = asyncio.current_task()
    return task.cancel if task is not None else None


async def _serve(ws: WebSocket, client: Client, hub: BoardHub, reader: Any) -> None:
    tasks = [
        asyncio.ensure_future(_pump(ws, client)),
        asyncio.ensure_future(_heartbeat(ws, hub)),
        asyncio.ensure_future(reader),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # re-raises Refused or the disconnect
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code=code, reason=reason[:120])


async def _close_dropped(ws: WebSocket, client: Client) -> None:
    # The socket of a dropped client is usually full: the close frame may never
    # get out, so don't wait for it; the server aborts the connection after
    # its close timeout.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(_close(ws, TOO_SLOW, client.closed_reason or "too slow"), 1.0)


# -- crew -----------------------------------------------------------------------------


@router.websocket("/ws/crew")
async def crew_feed(ws: WebSocket) -> None:
    await ws.accept()
    app: Rescue = ws.app.state.rescue
    hub: BoardHub = ws.app.state.hub
    writer: PositionWriter = ws.app.state.positions
    async with _session(ws, hub) as session:
        principal = await _authenticate(ws, app, {Role.CREW})
        van_id = principal.van_id or ""
        wanted, mine = crew_filter(van_id)
        client = Client(
            wanted=wanted, keys=mine, limit=app.settings.ws_queue_limit, on_drop=_canceller()
        )
        session.append(client)
        hub.register(client)
        snapshot = await run_in_threadpool(_crew_snapshot, app, van_id)
        if snapshot["job"] is not None:
            mine.add(snapshot["job"]["incident_id"])
        client.covered = max(client.covered, snapshot["log_position"])
        await ws.send_text(orjson.dumps({"type": "snapshot", **snapshot}, default=str).decode())
        await _serve(ws, client, hub, _crew_commands(ws, app, writer, principal))


def _crew_snapshot(app: Rescue, van_id: str) -> dict[str, Any]:
    with app.view.lock:
        position = app.view.position
        van = dict(app.view.vans.get(van_id, {}))
    job = None
    if van.get("incident_id"):
        job = app.queries.incident_details(van["incident_id"], with_caller=True)
    return {
        "log_position": position,
        "van": {**van, "status": van_status(van)} if van else None,
        "job": job,
    }


async def _crew_commands(
    ws: WebSocket, app: Rescue, writer: PositionWriter, principal: Principal
) -> None:
    while True:
        message = await _receive_frame(ws, principal)
        try:
            command = orjson.loads(message)
        except orjson.JSONDecodeError:
            raise Refused(4400, "frames must be JSON") from None
        if not isinstance(command, dict):
            raise Refused(4400, "frames must be JSON objects")
        if command.get("type") == "positions":
            # GPS goes straight to the group-commit writer: no thread waits for the commit.
            status, body = await _crew_positions(app, writer, principal, command)
        else:
            status, body = await run_in_threadpool(_crew_command, app, writer, principal, command)
        ack = {"type": "ack", "ref": command.get("ref"), "status": status, "body": body}
        await ws.send_text(orjson.dumps(ack, default=str).decode())


def _crew_command(
    app: Rescue, writer: PositionWriter, principal: Principal, command: dict[str, Any]
) -> tuple[int, Any]:
    """The same rules and idempotency as the REST routes; answers (status, body)."""
    key = command.get("key")
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 200):
        return 422, {"detail": "key must be a string of 1 to 200 characters"}
    try:
        if command.get("type") == "step":
            action = command.get("action")
            step = CREW_STEPS.get(action) if isinstance(action, str) else None
            if step is None:
                return 422, {"detail": f"action must be one of {sorted(CREW_STEPS)}"}
            incident_id = command.get("incident_id")
            if not isinstance(incident_id, str):
                return 422, {"detail": "incident_id is required"}
            data = dumped(step.request.model_validate(command.get("data") or {}))
            path = f"/api/incidents/{incident_id}/{step.action}"
            idem = idempotency_key(principal, key, path, data)
            result = app.steps.take(incident_id, step.action, data, principal, idem)
            return status_of_result(result), result.body
        return 422, {"detail": "type must be positions or step"}
    except ValidationError as error:
        return 422, {"detail": orjson.loads(error.json(include_input=False))}
    except ValueError as error:
        return 422, {"detail": str(error)}
    except RescueError as error:
        return _refusal(error)


def _refusal(error: RescueError) -> tuple[int, dict[str, Any]]:
    """An ack's status and body for a refused command: the REST status of the error."""
    body: dict[str, Any] = {"detail": str(error)}
    if isinstance(error, Conflict):
        body["state"] = error.state
    elif isinstance(error, Invalid):
        body["field"] = error.field
    elif isinstance(error, Unavailable):
        body["retry_after_s"] = RETRY_AFTER_S
    return status_of(error), body


async def _crew_positions(
    app: Rescue, writer: PositionWriter, principal: Principal, command: dict[str, Any]
) -> tuple[int, Any]:
    key = command.get("key")
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 200):
        return 422, {"detail": "key must be a string of 1 to 200 characters"}
    van_id = principal.van_id or ""
    try:
        checked, data = read_positions(
            command.get("reports"),
            now=app.clock(),
            tolerance_s=app.settings.position_future_tolerance_s,
            limit=app.settings.max_positions_per_request,
        )
    except BadPositions as error:
        return 422, {"detail": error.details}
    idem = idempotency_key(principal, key, f"/api/vans/{van_id}/positions", data)
    try:
        result = await writer.stored(van_id, checked, idem)
    except RescueError as error:
        return _refusal(error)
    return 202, result.body


@router.get("/api/feeds", tags=["live"], responses=answers(*SIGNED_IN, 403))
def feed_stats(request: Request, _: DeskDep) -> dict[str, int]:
    """Open sockets, and how many were dropped for being too slow (operator, auditor)."""
    hub: BoardHub = request.app.state.hub
    return {
        "clients": len(hub.clients),
        "dropped_clients": hub.dropped_clients,
        "most_queued": max((c.queued for c in hub.clients), default=0),
        "coalesced": sum(c.coalesced for c in hub.clients),
        "log_position": hub.view.position,
    }
