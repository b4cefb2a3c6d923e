"""The JSON line formatter writes exactly the lines python-json-logger's own formatter writes
with the same configuration: the same fields, in the same order, for plain lines, lines with
fields of their own, a request's fields, errors with tracebacks, stacks and dict messages."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import pytest
from pythonjsonlogger.orjson import OrjsonFormatter

from rescue.logs import (
    JSON_LINE_OPTIONS,
    JsonLineFormatter,
    RequestFilter,
    identify,
    json_formatter,
    request_context,
)


def library_formatter() -> OrjsonFormatter:
    return OrjsonFormatter(**JSON_LINE_OPTIONS)


def record(msg: Any, args: tuple[Any, ...] = (), **extra: Any) -> logging.LogRecord:
    return logging.getLogger("rescue.request").makeRecord(
        "rescue.request", logging.INFO, "(unknown file)", 0, msg, args, None, extra=extra
    )


def failing() -> logging.LogRecord:
    try:
        raise ValueError("the store is unavailable")
    except ValueError:
        made = record("POST %s %d", ("/api/incidents", 500), status=500)
        made.exc_info = sys.exc_info()
        made.levelno, made.levelname = logging.ERROR, "ERROR"
        return made


def with_stack() -> logging.LogRecord:
    made = record("where am I")
    made.stack_info = 'Stack (most recent call last):\n  File "x.py", line 1, in <module>'
    return made


def with_private_and_numbers() -> logging.LogRecord:
    made = record("a line", duration_ms=1.25, status=202)
    made.__dict__["_hidden"] = "not on the line"
    return made


def in_a_request() -> logging.LogRecord:
    made = record("POST %s %d", ("/api/vans/{van_id}/positions", 202), method="POST")
    with request_context("0123456789abcdef0123456789abcdef"):
        identify("crew-0001", "crew")
        RequestFilter().filter(made)
    return made


CASES = {
    "plain": lambda: record("started"),
    "fields": lambda: record("GET %s", ("/api/vans",), route="/api/vans", status=200),
    "an error with its traceback": failing,
    "a stack": with_stack,
    "a private attribute and numbers": with_private_and_numbers,
    "a request's fields": in_a_request,
    "a dict message": lambda: record({"event": "moved", "van": "V-1"}),
    "a field that is None": lambda: record("a line", account=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_the_line_is_the_librarys_line(case: Any) -> None:
    made = case()
    ours = json_formatter()
    assert isinstance(ours, JsonLineFormatter)
    # Each formatter gets a record of its own: formatting sets attributes on the record.
    theirs = case()
    theirs.created = made.created
    theirs.exc_info = made.exc_info
    assert ours.format(made) == library_formatter().format(theirs)


def test_a_request_line_carries_the_request_and_the_caller() -> None:
    line = orjson.loads(json_formatter().format(in_a_request()))
    assert line["request_id"] == "0123456789abcdef0123456789abcdef"
    assert (line["account"], line["role"], line["method"]) == ("crew-0001", "crew", "POST")
    assert line["message"] == "POST /api/vans/{van_id}/positions 202"
    assert list(line)[:4] == ["level", "logger", "message", "thread"]
    assert list(line)[-1] == "time"


def test_a_field_the_line_already_has_is_not_overwritten_by_the_request() -> None:
    made = record("a line", account="given")
    with request_context("0123456789abcdef0123456789abcdef"):
        identify("crew-0001", "crew")
        RequestFilter().filter(made)
    assert made.__dict__["account"] == "given"
    assert made.__dict__["role"] == "crew"
