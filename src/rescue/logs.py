"""Log lines for operations: one JSON object a line, each tagged with the request it serves.

Everything logs through the standard `logging` module (uvicorn, the library,
the background threads), so the format is set once, on the handler: every line
of the process comes out alike. The request being handled lives in a context
variable; a filter on the handler copies its id, account and role onto each
record, so any line logged while a request is handled (in the event loop or in
the worker thread that runs a route) carries them without being passed along.
Lines from the background threads carry their thread's name instead.

Callers' names and phones never reach a log line from here: the request line
holds the route template, not the path or the query, and no bodies.
"""

from __future__ import annotations

import logging
import logging.config
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pythonjsonlogger.orjson import OrjsonFormatter

LogFormat = Literal["json", "text"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


@dataclass
class RequestContext:
    """What the log knows about the request being handled.

    Mutable on purpose: a route's dependencies run in a worker thread with a
    copy of the context, so they fill in the account on the shared object
    rather than set a variable whose change the event loop would not see.
    """

    request_id: str
    account: str | None = None
    role: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("rescue_request", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


@contextmanager
def request_context(request_id: str) -> Iterator[RequestContext]:
    """Tags every line logged inside the block (and in threads it hands work to)."""
    context = RequestContext(request_id)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def identify(account: str, role: str) -> None:
    """Names the authenticated caller of the current request, if there is one."""
    context = _current.get()
    if context is not None:
        context.account, context.role = account, str(role)


class RequestFilter(logging.Filter):
    """Copies the current request's id, account and role onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        if context is not None:
            # On the record's dict, as setattr would: this runs for every request's line.
            fields = record.__dict__
            fields.setdefault("request_id", context.request_id)
            if context.account is not None:
                fields.setdefault("account", context.account)
            if context.role is not None:
                fields.setdefault("role", context.role)
        return True


class WebSocketHandshakeFilter(logging.Filter):
    """Drops uvicorn's line per WebSocket handshake.

    uvicorn's `access_log=False` does not cover WebSockets: it logs each
    handshake with the path and query string, where a tablet's `?token=`
    travels. The request log has a line per socket already, without the query.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name.startswith("uvicorn")
            and isinstance(record.msg, str)
            and record.msg.startswith('%s - "WebSocket ')
        )


# Attributes of a LogRecord that are not extra fields; uvicorn's `color_message` repeats the
# message with terminal colour codes.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES}


class TextFormatter(logging.Formatter):
    """Human-readable lines: time, level, logger, message, then the extra fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in extra_fields(record).items())
        if not extras:
            return line
        head, newline, rest = line.partition("\n")  # keep a traceback below the fields
        return f"{head} {extras}{newline}{rest}"


# The record's attributes every JSON line begins with, and their names on the line.
_LINE_HEAD = (
    ("levelname", "level"),
    ("name", "logger"),
    ("message", "message"),
    ("threadName", "thread"),
)
# The field every JSON line ends with: when the record was made, in UTC.
_TIME = "time"
# python-json-logger's configuration of the lines.
JSON_LINE_OPTIONS: dict[str, Any] = {
    "fmt": "".join(f"{{{attribute}}}" for attribute, _ in _LINE_HEAD),
    "style": "{",
    "rename_fields": {attribute: shown for attribute, shown in _LINE_HEAD if attribute != shown},
    "timestamp": _TIME,
    "reserved_attrs": sorted(_RECORD_ATTRIBUTES),
}


class JsonLineFormatter(OrjsonFormatter):
    """python-json-logger's orjson formatter with a quicker way of gathering a line's fields.

    The library's own `add_fields` is general (defaults, static fields, renames
    looked up field by field, a `hasattr` per attribute) and was two fifths of
    the time of a request's line, which every GPS fix pays. Here the fields of
    `JSON_LINE_OPTIONS` are taken in one pass, in the library's order;
    tests/unit/test_log_lines.py checks the lines against the library's.
    """

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        fields = record.__dict__
        for attribute, shown in _LINE_HEAD:
            log_data[shown] = fields.get(attribute)
        log_data.update(message_dict)  # exc_info, stack_info
        skip = self._skip_fields
        for key, value in fields.items():
            if key not in skip and not key.startswith("_"):
                log_data[key] = value
        log_data[_TIME] = datetime.fromtimestamp(record.created, tz=UTC)


def json_formatter() -> logging.Formatter:
    """One JSON object a line: level, logger, message, thread, the fields, then time (UTC).

    Encoded with orjson: a line per request is written on the GPS path, where the
    standard library's encoder was a measurable share of each request.
    """
    return JsonLineFormatter(**JSON_LINE_OPTIONS)


def uvicorn_level(level: LogLevel) -> LogLevel:
    """uvicorn logs at most INFO: its DEBUG output is a wire trace of WebSocket handshakes
    and frames (tokens in query strings, callers' names and phones in the frames)."""
    return "INFO" if level == "DEBUG" else level


def logging_config(level: LogLevel = "INFO", fmt: LogFormat = "json") -> dict[str, Any]:
    """A `logging.config.dictConfig` document: one stderr handler on the root logger,
    writing lines in batches (at most 0.1 s late; WARNING and above at once)."""
    formatters = {"json": {"()": json_formatter}, "text": {"()": TextFormatter}}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request": {"()": RequestFilter},
            "handshakes": {"()": WebSocketHandshakeFilter},
        },
        "formatters": {fmt: formatters[fmt]},
        "handlers": {
            "stderr": {
                # Lines go out in batches of whole lines (rescue.log_writer).
                "class": "rescue.log_writer.BatchedStreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": fmt,
                "filters": ["handshakes", "request"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        # uvicorn's loggers log through the root handler, in the same format; its access log
        # (off in `rescue serve`) would repeat the request lines of rescue.api.request_log.
        "loggers": {
            name: {"level": uvicorn_level(level), "handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi")
        }
        | {"uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True}},
    }


def configure(level: LogLevel = "INFO", fmt: LogFormat = "json") -> None:
    """Sets up the process's logging; warnings and crashed threads are logged the same way."""
    logging.config.dictConfig(logging_config(level, fmt))
    # No line shows the source file and line, the process id or its multiprocessing name:
    # not looking them up saves a stack walk and two lookups on every request's line.
    logging._srcfile = None
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.captureWarnings(True)
    crashes = logging.getLogger("rescue.crash")

    def log_thread_crash(args: threading.ExceptHookArgs) -> None:
        # Otherwise a dying thread prints a bare traceback: the one line that is not JSON.
        if args.exc_value is None or isinstance(args.exc_value, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "unknown"
        crashes.error(
            "thread %s stopped by an unhandled error",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    threading.excepthook = log_thread_crash


__all__ = [
    "JSON_LINE_OPTIONS",
    "JsonLineFormatter",
    "LogFormat",
    "LogLevel",
    "RequestContext",
    "RequestFilter",
    "WebSocketHandshakeFilter",
    "configure",
    "current_request",
    "identify",
    "json_formatter",
    "logging_config",
    "request_context",
    "uvicorn_level",
]
