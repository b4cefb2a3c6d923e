"""A period given in a query as `from` and `to`: ISO-8601 moments with an offset."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import HTTPException, Query

From = Annotated[
    datetime | None, Query(alias="from", description="ISO-8601 moment with offset (inclusive)")
]
To = Annotated[
    datetime | None, Query(alias="to", description="ISO-8601 moment with offset (exclusive)")
]


def _invalid(field: str, message: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["query", field], "msg": message, "type": "value_error"}])


def checked_period(
    start: datetime | None, end: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """The period's bounds; refuses (422) a moment without an offset, or a period that ends
    before it starts."""
    for field, moment in (("from", start), ("to", end)):
        if moment is not None and moment.tzinfo is None:
            raise _invalid(field, "include an offset such as Z or +08:00")
    if start is not None and end is not None and end <= start:
        raise _invalid("to", "the period ends before it starts: `to` must be after `from`")
    return start, end
