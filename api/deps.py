"""Dependencies of the routes: the application, the caller, the idempotency key.

The dependencies that only look something up in memory are `async def`: FastAPI
runs a plain `def` dependency in its thread pool, and for a one-line lookup that
hand-over (twice per request, once per dependency) cost more than the request's
own work. Only a token the in-memory book does not know is read from the store,
in the thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from rescue.api.lanes import ADMITTED
from rescue.api.ratelimit import RateLimiter, retry_after
from rescue.bootstrap import Rescue
from rescue.domain.access import Principal
from rescue.domain.errors import Unauthenticated
from rescue.domain.vocabulary import Role
from rescue.logs import identify
from rescue.services.positions import PositionWriter


async def get_app(request: Request) -> Rescue:
    app: Rescue = request.app.state.rescue
    return app


async def get_writer(request: Request) -> PositionWriter:
    writer: PositionWriter = request.app.state.positions
    return writer


AppDep = Annotated[Rescue, Depends(get_app)]
WriterDep = Annotated[PositionWriter, Depends(get_writer)]


async def principal_of(app: Rescue, token: str) -> Principal:
    """The caller behind a token: from memory, or, for a token not seen yet, from the store
    in the thread pool. Unauthenticated says why there is none."""
    principal = app.access.known_principal(token)
    if principal is None:
        principal = await run_in_threadpool(app.access.principal_for, token)
    return principal


class BearerToken(HTTPBearer):
    """The bearer scheme of the OpenAPI document; answers the token itself, or None.

    Every authenticated request passes here: the library's scheme builds a
    pydantic model of the header per request, which showed in the GPS path's profile.
    """

    async def __call__(self, request: HTTPConnection) -> str | None:  # type: ignore[override]
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return token.strip() or None


# Declares the bearer scheme in the OpenAPI document; answering a missing token is ours (401).
BEARER = BearerToken(
    auto_error=False,
    description="a token from `rescue users add`; operator, crew (of one van), auditor or admin",
)
NO_TOKEN = "missing bearer token: send 'Authorization: Bearer TOKEN'"


async def get_principal(
    request: Request, token: Annotated[str | None, Depends(BEARER)]
) -> Principal:
    admitted: Principal | None = request.scope.get(ADMITTED)
    if admitted is not None:  # a lane checked this caller and counted the request
        return admitted
    if token is None:
        raise HTTPException(401, NO_TOKEN, headers={"WWW-Authenticate": "Bearer"})
    # The application is read here rather than depended on: each dependency FastAPI
    # solves costs more than this lookup, on every authenticated request.
    app: Rescue = request.app.state.rescue
    try:
        principal = await principal_of(app, token)
    except Unauthenticated as error:
        raise HTTPException(401, str(error), headers={"WWW-Authenticate": "Bearer"}) from None
    identify(principal.name, principal.role)  # named on the request's log lines
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.wait_needed(principal.name)
    if wait:
        raise HTTPException(
            429,
            f"too many requests for {principal.name}; retry in {retry_after(wait)} s",
            headers={"Retry-After": retry_after(wait)},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def roles(*allowed: Role) -> object:
    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            names = " or ".join(r.value for r in allowed)
            raise HTTPException(403, f"this needs the {names} role; you are {principal.role}")
        return principal

    return Depends(check)


OperatorDep = Annotated[Principal, roles(Role.OPERATOR)]
AdminDep = Annotated[Principal, roles(Role.ADMIN)]
CrewDep = Annotated[Principal, roles(Role.CREW)]
DeskDep = Annotated[Principal, roles(Role.OPERATOR, Role.AUDITOR)]
AnyRoleDep = PrincipalDep

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="a retry with the same key returns the first answer and records nothing new",
    ),
]


def require_own_van(principal: Principal, van_id: str) -> None:
    if principal.role == Role.CREW and principal.van_id != van_id:
        raise HTTPException(403, f"this crew token acts for van {principal.van_id}, not {van_id}")
