"""Request values as plain JSON, so events hold nothing the store cannot encode."""

from __future__ import annotations

from typing import Any


def jsonable(value: Any) -> Any:
    """Dates in request bodies become ISO strings so events hold plain JSON."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
