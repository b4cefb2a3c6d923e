"""The GPS fix's own way through the server: a crew's accepted fix skips FastAPI's machinery.

A phone or tracker sends one fix per request, so `POST /api/vans/{id}/positions`
is the busiest route by far, and most of its time went to what every FastAPI
route pays: the exception and exit-stack layers, matching the route among all
the others, solving its dependencies and validating its header parameters. The
lane sits just inside the request log, the metrics and the security headers
(so a fix it answers is logged, counted and headed like any other answer) and
takes the case that matters: a token the in-memory book knows, of the van's
own crew, within its rate, with a body that reads as positions. It answers
that request with exactly what the route would (the same reading of the body,
the same idempotency key, the same writer and the same 202).

Anything else (a missing or unknown token, another role or van, a body or key
the route would refuse, a refusal from the writer) goes on to the route with
the body it sent replayed, and the route answers it: every error keeps its one
source. When the lane has already counted the request against the caller's
rate, it says so on the scope and the route does not count it twice; when the
writer has refused the fix, the refusal goes on the scope too and the route
answers it without writing again (a second try would hold the caller for a
second lock timeout while the store is locked).
"""

from __future__ import annotations

import orjson
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rescue.api.lanes import ADMITTED, admit, known_caller, matched, token_and_key
from rescue.api.position_input import BadPositions, read_positions
from rescue.api.replies import idempotency_key, names_a_key, respond
from rescue.bootstrap import Rescue
from rescue.domain.errors import RescueError
from rescue.domain.vocabulary import Role
from rescue.services.positions import PositionWriter

# The scope key under which the lane hands the writer's refusal of the fix to the route.
REFUSED = "rescue.refused"
# The route's limit on the Idempotency-Key header; a longer one is the route's to refuse.
KEY_MAX_LENGTH = 200


class PositionsLane:
    def __init__(self, app: ASGIApp, route: APIRoute) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fix = matched(self.route, "POST", scope)
        if fix is None:
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        replay = _replaying(messages, receive)
        answer = None
        if body is not None:
            answer = await self._accepted(scope, fix["van_id"], body)
        if answer is None:
            await self.app(scope, replay, send)
            return
        scope["route"] = self.route  # the request's log line and metrics name the route
        await answer(scope, replay, send)

    async def _accepted(self, scope: Scope, van_id: str, body: bytes) -> Response | None:
        """The 202 of a crew's fix the lane can take, or None for the route to answer."""
        token, key = token_and_key(scope)
        if token is None or (key is not None and len(key) > KEY_MAX_LENGTH):
            return None
        state = scope["app"].state
        app: Rescue = state.rescue
        principal = known_caller(app, token)
        if principal is None or principal.role != Role.CREW or principal.van_id != van_id:
            return None
        try:
            # orjson reads what it takes as the route's json.loads would; what it refuses
            # (NaN, a number past 64 bits, text not in UTF-8) goes on to the route.
            raw = orjson.loads(body)
            checked, data = read_positions(
                raw,
                now=app.clock(),
                tolerance_s=app.settings.position_future_tolerance_s,
                limit=app.settings.max_positions_per_request,
                fingerprinted=names_a_key(key),
            )
        except (ValueError, BadPositions):  # orjson's error is a ValueError
            return None
        if not admit(scope, principal):
            return None
        writer: PositionWriter = state.positions
        idem = idempotency_key(principal, key, scope["path"], data)
        try:
            result = await writer.stored(van_id, checked, idem)
        except RescueError as refusal:
            scope[ADMITTED] = principal  # counted already
            scope[REFUSED] = refusal  # the route answers it
            return None
        return respond(result, 202)


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The messages that carried the request's body, and the body (None if the client left)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives the messages already read again, then the client's own."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


__all__ = ["REFUSED", "PositionsLane"]
