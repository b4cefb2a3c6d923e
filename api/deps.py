"""Dependencies of the routes: the application, the caller, the idempotency key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rescue.api.ratelimit import RateLimiter, retry_after
from rescue.bootstrap import Rescue
from rescue.domain.access import Principal
from rescue.domain.errors import Unauthenticated
from rescue.domain.vocabulary import Role
from rescue.logs import identify
from rescue.services.positions import PositionWriter


def get_app(request: Request) -> Rescue:
    app: Rescue = request.app.state.rescue
    return app


def get_writer(request: Request) -> PositionWriter:
    writer: PositionWriter = request.app.state.positions
    return writer


AppDep = Annotated[Rescue, Depends(get_app)]
WriterDep = Annotated[PositionWriter, Depends(get_writer)]


# Declares the bearer scheme in the OpenAPI document; answering a missing token is ours (401).
BEARER = HTTPBearer(
    auto_error=False,
    description="a token from `rescue users add`; operator, crew (of one van), auditor or admin",
)
NO_TOKEN = "missing bearer token: send 'Authorization: Bearer TOKEN'"


def get_principal(
    request: Request,
    app: AppDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Principal:
    if credentials is None or not credentials.credentials.strip():
        raise HTTPException(401, NO_TOKEN, headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = app.access.principal_for(credentials.credentials.strip())
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
    def check(principal: PrincipalDep) -> Principal:
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
