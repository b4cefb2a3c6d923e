"""The request log middleware on a small real ASGI app: the request id is taken or made, echoed,
and tagged onto every line logged while the request is handled (in the event loop and in the
worker thread of a plain route); an error nobody handled is one ERROR line with its traceback
and a 500 naming the id."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from rescue.api.request_log import HEADER, install, request_id_from
from rescue.logs import RequestFilter, TextFormatter, identify, json_formatter, request_context
from rescue.settings import Settings

work = logging.getLogger("tests.request_log.work")
TOKEN = "secret-token-3fa9"


class Captured:
    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]

    def of(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("request_id") == request_id]


@pytest.fixture
def captured() -> Iterator[Captured]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RequestFilter())
    handler.setFormatter(json_formatter())
    loggers = [logging.getLogger("rescue.request"), work]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield Captured(buffer)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def signed_in() -> str:
    # Like the API's bearer check: a dependency run in a worker thread names the account.
    identify("alice", "operator")
    return "alice"


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()
    install(app)

    @app.get("/items/{item_id}")
    def plain_route(item_id: str, who: str = Depends(signed_in)) -> dict[str, str]:
        work.info("reading item %s in a worker thread", item_id)
        return {"item": item_id}

    @app.get("/async")
    async def async_route() -> dict[str, str]:
        work.info("in the event loop")
        return {}

    @app.get("/broken")
    def broken_route() -> None:
        work.info("about to fail")
        raise RuntimeError("the disk is on fire")

    with TestClient(app) as test_client:
        yield test_client


def test_a_given_request_id_is_echoed_and_tags_every_line(
    client: TestClient, captured: Captured
) -> None:
    answer = client.get(
        "/items/i-17", headers={HEADER: "req-42.a:b_c", "Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200
    assert answer.headers[HEADER] == "req-42.a:b_c"
    # 1. The route's own line (worker thread) and the request line both carry the id.
    work_line, request_line = captured.of("req-42.a:b_c")
    assert work_line["message"] == "reading item i-17 in a worker thread"
    assert work_line["logger"] == "tests.request_log.work"
    # 2. The request line: method, route template (not the path), status, time, who.
    assert {k: request_line[k] for k in ("method", "route", "status", "account", "role")} == {
        "method": "GET",
        "route": "/items/{item_id}",
        "status": 200,
        "account": "alice",
        "role": "operator",
    }
    assert request_line["duration_ms"] >= 0
    assert request_line["level"] == "INFO"
    # 3. The token is nowhere.
    assert TOKEN not in captured.buffer.getvalue()


@pytest.mark.parametrize(
    "given",
    [None, "", "x" * 129, "two words", 'quote"}{', "tab\there", "semi;colon", "a/b"],
)
def test_an_implausible_or_missing_request_id_is_replaced(
    client: TestClient, captured: Captured, given: str | None
) -> None:
    headers = {} if given is None else {HEADER: given}
    answer = client.get("/async", headers=headers)
    request_id = answer.headers[HEADER]
    assert request_id != given
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    assert [line["message"] for line in captured.of(request_id)] == [
        "in the event loop",
        "GET /async 200",
    ]
    if given:
        assert given not in captured.buffer.getvalue()
    # Each request gets its own.
    assert client.get("/async", headers=headers).headers[HEADER] != request_id


def test_a_forked_process_issues_request_ids_of_its_own() -> None:
    ours = request_id_from({"headers": []})
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, request_id_from({"headers": []}).encode())
        os._exit(0)
    os.waitpid(child, 0)
    theirs = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert len(theirs) == 32 and int(theirs, 16) >= 0
    # The parent's next id would share a prefix and count with a child that copied its state.
    assert theirs[:16] != ours[:16]
    assert request_id_from({"headers": []})[:16] == ours[:16]


def test_the_longest_plausible_request_id_is_kept(client: TestClient) -> None:
    longest = "a" * 128
    assert client.get("/async", headers={HEADER: longest}).headers[HEADER] == longest


def test_client_errors_are_logged_with_the_request_id(
    client: TestClient, captured: Captured
) -> None:
    answer = client.get("/nowhere/13912345678?phone=13912345678", headers={HEADER: "r-404"})
    assert answer.status_code == 404
    (line,) = captured.of("r-404")
    assert (line["route"], line["status"], line["level"]) == ("unmatched", 404, "INFO")
    # Neither the path nor the query is logged: they may hold anything a client typed.
    assert "13912345678" not in captured.buffer.getvalue()


def test_an_unhandled_error_is_one_error_line_with_its_traceback(
    client: TestClient, captured: Captured
) -> None:
    answer = client.get("/broken", headers={HEADER: "r-500"})
    assert answer.status_code == 500
    assert answer.headers[HEADER] == "r-500"
    assert "r-500" in answer.json()["detail"]
    assert "fire" not in answer.text  # the cause stays in the log
    before, line = captured.of("r-500")
    assert before["message"] == "about to fail"
    assert (line["route"], line["status"], line["level"]) == ("/broken", 500, "ERROR")
    assert "RuntimeError: the disk is on fire" in line["exc_info"]


def test_lines_outside_a_request_carry_no_request_id(captured: Captured) -> None:
    work.info("a background tick")
    with request_context("inside"):
        work.info("during a request")
    work.info("after it")
    assert [line.get("request_id") for line in captured.lines()] == [None, "inside", None]


def test_the_text_format_shows_the_request_id() -> None:
    record = logging.LogRecord("rescue.x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    with request_context("abc"):
        assert RequestFilter().filter(record)
    line = TextFormatter().format(record)
    assert line.endswith("INFO    rescue.x: hello you request_id=abc")


def test_log_settings_read_any_case_and_refuse_unknown_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RESCUE_LOG_LEVEL", "warning")
    monkeypatch.setenv("RESCUE_LOG_FORMAT", "TEXT")
    settings = Settings()
    assert (settings.log_level, settings.log_format) == ("WARNING", "text")
    monkeypatch.setenv("RESCUE_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.delenv("RESCUE_LOG_LEVEL")
    monkeypatch.delenv("RESCUE_LOG_FORMAT")
    assert (Settings().log_level, Settings().log_format) == ("INFO", "json")
