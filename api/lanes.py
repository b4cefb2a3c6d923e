"""What the lanes share: reading the caller off the scope, and handing it to the route.

A lane is a pure ASGI middleware that answers one busy route's common case
itself, before FastAPI's routing and dependency solving, and hands anything
else to the route (api/positions_lane.py, api/van_read_lane.py). It admits a
caller only from memory: a bearer token the in-memory book knows, within the
caller's rate. Anything it is unsure of (no token, a token sent twice, one
the book has not learned yet, a revoked one) goes to the route, which says
what is wrong; when the lane has counted the request against the rate
already, it leaves the caller on the scope under `ADMITTED`, so the route's
`get_principal` takes it from there instead of counting it again.
"""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from starlette.types import Scope

from rescue.api.ratelimit import RateLimiter
from rescue.bootstrap import Rescue
from rescue.domain.access import Principal
from rescue.domain.errors import RescueError
from rescue.logs import identify

# The scope key under which a lane hands a caller it has admitted (and counted) to the route.
ADMITTED = "rescue.admitted"
_AUTHORIZATION = b"authorization"
_IDEMPOTENCY_KEY = b"idempotency-key"


def matched(route: APIRoute, method: str, scope: Scope) -> re.Match[str] | None:
    """The route's path parameters when the request is `method` on its path, else None."""
    if scope["type"] != "http" or scope["method"] != method or scope.get("root_path"):
        return None
    return route.path_regex.match(scope["path"])


def token_and_key(scope: Scope) -> tuple[str | None, str | None]:
    """The bearer token and the Idempotency-Key; a token sent any other way is None."""
    token: str | None = None
    key: str | None = None
    for name, value in scope["headers"]:
        if name == _AUTHORIZATION:
            if token is not None:
                return None, None  # two tokens: the route decides
            scheme, _, given = value.decode("latin-1").partition(" ")
            token = given.strip() if scheme.lower() == "bearer" else ""
        elif name == _IDEMPOTENCY_KEY:
            if key is not None:
                return None, None
            key = value.decode("latin-1")
    return token or None, key


def known_caller(app: Rescue, token: str) -> Principal | None:
    """The caller the in-memory book knows by `token`, or None for the route to look up."""
    try:
        return app.access.known_principal(token)
    except RescueError:  # revoked or expired: the route says which
        return None


def admit(scope: Scope, principal: Principal) -> bool:
    """Counts the request against the caller's rate; False (not counted) when over it.

    Over the rate, the route checks again and answers 429 with its Retry-After.
    An admitted caller is named on the request's log line.
    """
    limiter: RateLimiter = scope["app"].state.limiter
    if limiter.wait_needed(principal.name):
        return False
    identify(principal.name, principal.role)
    return True


__all__ = ["ADMITTED", "admit", "known_caller", "matched", "token_and_key"]
