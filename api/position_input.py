"""Reading GPS reports from a request (REST or the crew socket), with errors that name the field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from rescue.api.schemas import ReportPosition, dumped
from rescue.domain.validation import check_recorded_at
from rescue.services.positions import PositionReport

REPORTS = TypeAdapter(list[ReportPosition])
# The request body's schema for the OpenAPI document: one report or a list of them.
BODY_SCHEMA: dict[str, Any] = {
    "anyOf": [
        ReportPosition.model_json_schema(),
        {"type": "array", "items": ReportPosition.model_json_schema(), "minItems": 1},
    ]
}


class BadPositions(ValueError):
    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__(details[0]["msg"] if details else "invalid positions")
        self.details = details


def read_positions(
    raw: Any, *, now: datetime, tolerance_s: float, limit: int, fingerprinted: bool = True
) -> tuple[list[PositionReport], list[dict[str, Any]]]:
    """The checked reports, and the request as plain JSON (for the idempotency fingerprint).

    Without `fingerprinted` (a request with no Idempotency-Key) the JSON is not built: an
    empty list stands for it.
    """
    single = isinstance(raw, dict)
    items = [raw] if single else raw
    if not isinstance(items, list):
        raise BadPositions([_error([], "send a position object or a list of them")])
    if not 1 <= len(items) <= limit:
        raise BadPositions([_error([], f"send between 1 and {limit} positions per request")])
    try:
        reports = REPORTS.validate_python(items)
    except ValidationError as error:
        raise BadPositions(
            [
                # A single report is addressed without the list index the check added.
                _error(list(e["loc"][1:] if single else e["loc"]), e["msg"], e["type"])
                for e in error.errors(include_input=False)
            ]
        ) from None
    checked = []
    for index, r in enumerate(reports):
        try:
            at = check_recorded_at(r.recorded_at, now=now, tolerance_s=tolerance_s)
        except ValueError as error:
            where: list[Any] = ["recorded_at"] if single else [index, "recorded_at"]
            raise BadPositions([_error(where, str(error))]) from None
        checked.append(PositionReport(r.lat, r.lon, at, r.speed_kmh, r.heading, r.accuracy_m))
    return checked, [dumped(r) for r in reports] if fingerprinted else []


def _error(loc: list[Any], msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": kind}
