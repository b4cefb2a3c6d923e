"""A van as stored, read for a signed-in caller without FastAPI's routing and dependencies.

`GET /api/vans/{id}` is the read a crew's app and the console repeat most,
and with the store read on its own executor (api/store_reads.py) most of what
was left of each request was FastAPI's: the exception and exit-stack layers,
matching the route among the others, solving its dependencies. The lane sits
beside the positions lane (just inside the request log, the metrics and the
security headers) and answers the common case: a token the in-memory book
knows, any role, within its rate, and a van that exists. It reads the van on
the same executor and answers exactly what the route does.

Anything else goes to the route (api/lanes.py): an unknown, revoked or
missing token, a caller over its rate, and a read that fails (a van the store
does not hold, a store that cannot answer): that caller is admitted and
counted already, so the route answers its 404 or 503 without counting the
request again.
"""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from rescue.api.lanes import ADMITTED, admit, known_caller, matched, token_and_key
from rescue.api.store_reads import StoreReads
from rescue.bootstrap import Rescue


class VanReadLane:
    def __init__(self, app: ASGIApp, route: APIRoute) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read = matched(self.route, "GET", scope)
        answer = await self._read(scope, read["van_id"]) if read is not None else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route  # the request's log line and metrics name the route
        await answer(scope, receive, send)

    async def _read(self, scope: Scope, van_id: str) -> JSONResponse | None:
        """The van as the route answers it, or None for the route to answer."""
        token, _ = token_and_key(scope)
        if token is None:
            return None
        state = scope["app"].state
        app: Rescue = state.rescue
        principal = known_caller(app, token)
        if principal is None or not admit(scope, principal):
            return None
        reads: StoreReads = state.store_reads
        try:
            van = await reads.run(app.network.van_as_stored, van_id)
        except Exception:
            # Not found, a store that cannot answer, a missing key: the route reads again
            # and the application's handlers answer it as for any route.
            scope[ADMITTED] = principal  # counted already
            return None
        return JSONResponse(van)


__all__ = ["VanReadLane"]
