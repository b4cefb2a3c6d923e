"""The error answers of the routes, declared in the OpenAPI document as they are sent.

Every error body is `{"detail": ...}`: a sentence, or for invalid input (422) a
list naming each field; a conflict (409) adds the current `state`. Each route
lists the statuses it really gives (`answers(...)`), and the API fuzz test holds
it to that list and to these bodies (schemathesis: status code and schema
conformance), so a new error path cannot go out undeclared.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    detail: str


class ConflictProblem(BaseModel):
    detail: str
    state: dict[str, Any]


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class InvalidInput(BaseModel):
    detail: list[FieldError]


RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}}
}

ANSWERS: dict[int, dict[str, Any]] = {
    401: {
        "model": Problem,
        "description": "no valid token: missing, not recognised, revoked or expired",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    403: {"model": Problem, "description": "the token's role or van may not do this"},
    404: {"model": Problem, "description": "an id that names nothing"},
    409: {
        "model": ConflictProblem,
        "description": "the request does not fit the current state, which is included",
    },
    422: {"model": InvalidInput, "description": "invalid input; each error names its field"},
    429: {
        "model": Problem,
        "description": "this account made too many requests; retry after Retry-After",
        "headers": RETRY_AFTER,
    },
    503: {
        "model": Problem,
        "description": "the store (or the cipher key, or the read models) is not available",
        "headers": RETRY_AFTER,
    },
}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The declarations of these error statuses, for a route's `responses=`."""
    return {code: ANSWERS[code] for code in codes}


def json_answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The same for a route whose own answer is not JSON (FastAPI would give the error
    bodies the route's media type): the bodies are named by reference, as JSON. The
    models are in the document through the routes that use `answers`."""
    declared: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        answer = dict(ANSWERS[code])
        model = answer.pop("model")
        ref = {"$ref": f"#/components/schemas/{model.__name__}"}
        declared[code] = {**answer, "content": {"application/json": {"schema": ref}}}
    return declared


# Any route behind a token: no valid token, too many requests, the store away.
SIGNED_IN = (401, 429, 503)
