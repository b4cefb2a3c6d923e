"""What a real `rescue serve` writes to its log: JSON lines only, one line per request with the
request id it answers in `X-Request-ID`, errors included; and never a caller's name or phone,
nor a bearer token, whatever the requests and their errors were."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.builders import REPAIR_STEPS
from tests.e2e.conftest import NETWORK, USERS
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer, seed
from tests.support import free_port, sqlite_path_of

REPAIR_VAN = NETWORK.vans[1].van_id
NAME, PHONE = "司马相如", "13698765432"
BAD_PHONE = "+1 415 555 2671"  # not a Chinese number: refused with 422


@contextmanager
def serving(store_url: str, folder: Path, **settings: str) -> Iterator[tuple[LiveServer, Any]]:
    key = new_key()
    tokens = seed(Settings(db=store_url, cipher_key=key), NETWORK, USERS)
    live = LiveServer(db=store_url, key=key, port=free_port(), log_path=folder / "server.log")
    live.start(**settings)
    try:
        yield live, tokens
    finally:
        live.stop()


def log_lines(live: LiveServer) -> list[dict[str, Any]]:
    """Every line of the server's output (stdout and stderr), each parsed as a JSON object."""
    lines = []
    for number, text in enumerate(live.log_path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise AssertionError(f"line {number} is not JSON: {text!r}") from None
        assert isinstance(parsed, dict), f"line {number} is not an object: {text!r}"
        lines.append(parsed)
    return lines


def request_lines(lines: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [
        line
        for line in lines
        if line.get("request_id") == request_id and line["logger"] == "rescue.request"
    ]


def test_every_line_is_json_and_each_request_one_line_with_its_id(
    sqlite_url: str, tmp_path: Path
) -> None:
    with serving(sqlite_url, tmp_path) as (live, tokens):
        op = bearer(tokens["op"])
        answers: dict[str, httpx.Response] = {}
        with httpx.Client(base_url=live.url, timeout=30) as http:
            # 1. A request id given by the caller is answered back; a forged one is replaced.
            answers["ok"] = http.get(
                f"/api/vans/{REPAIR_VAN}", headers={**op, "X-Request-ID": "desk-7.call-1"}
            )
            assert answers["ok"].headers["X-Request-ID"] == "desk-7.call-1"
            answers["forged"] = http.get(
                "/api/stations", headers={**op, "X-Request-ID": 'x", "level": "FAKE'}
            )
            assert answers["forged"].headers["X-Request-ID"] != 'x", "level": "FAKE'
            # 2. Client errors: no token, an unknown incident, a refused body.
            answers["401"] = http.post("/api/incidents", json=report_body())
            answers["404"] = http.get(f"/api/incidents/{uuid.uuid4()}", headers=op)
            answers["422"] = http.post("/api/incidents", json={"caller": {}}, headers=op)
            # 3. A server error: the store file is gone from its place for a moment.
            path = sqlite_path_of(sqlite_url)
            away = path.with_name("moved-away.db")
            os.rename(path, away)
            try:
                answers["503"] = http.get("/healthz", headers={"X-Request-ID": "probe-503"})
            finally:
                os.rename(away, path)
            assert http.get("/healthz").status_code == 200
        # 4. A WebSocket: one line when it closes; its ?token= is never logged.
        with connect(f"ws://127.0.0.1:{live.port}/ws/board?token={tokens['aud']}") as board:
            assert json.loads(board.recv(timeout=30))["type"] == "snapshot"
    lines = log_lines(live)  # every line is JSON, startup and shutdown included

    # 5. Each answer's request id is on exactly one request line, with its status and route.
    expected = {
        "ok": ("GET", "/api/vans/{van_id}", 200, "INFO"),
        "forged": ("GET", "/api/stations", 200, "INFO"),
        "401": ("POST", "/api/incidents", 401, "INFO"),
        "404": ("GET", "/api/incidents/{incident_id}", 404, "INFO"),
        "422": ("POST", "/api/incidents", 422, "INFO"),
        "503": ("GET", "/healthz", 503, "ERROR"),
    }
    for name, answer in answers.items():
        assert answer.status_code == expected[name][2], (name, answer.text)
        request_id = answer.headers["X-Request-ID"]
        (line,) = request_lines(lines, request_id)
        assert (line["method"], line["route"], line["status"], line["level"]) == expected[name]
        assert line["duration_ms"] >= 0 and line["time"]
    # 6. Signed-in requests name the account and its role; one without a token names none.
    ok = request_lines(lines, "desk-7.call-1")[0]
    assert (ok["account"], ok["role"]) == ("op", "operator")
    assert "account" not in request_lines(lines, answers["401"].headers["X-Request-ID"])[0]
    # 7. uvicorn's access log is off (it would repeat every request) and its WebSocket
    #    handshake line, which carries the query string, is dropped.
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    (socket,) = [line for line in lines if line.get("websocket")]
    assert (socket["route"], socket["close_code"], socket["accepted"]) == ("/ws/board", 1000, True)
    text = live.log_path.read_text(encoding="utf-8")
    for token in tokens.values():
        assert token not in text
    assert "Started server process" in text  # the scan does see uvicorn's own lines


def test_callers_name_and_phone_never_reach_the_log(store_url: str, tmp_path: Path) -> None:
    with serving(store_url, tmp_path, log_level="debug") as (live, tokens):
        op, aud, adm = bearer(tokens["op"]), bearer(tokens["aud"]), bearer(tokens["adm"])
        crew = bearer(tokens["crew-repair"])
        with httpx.Client(base_url=live.url, timeout=30) as http:
            # 1. A call taken, worked and closed by the right roles.
            reported = http.post(
                "/api/incidents",
                json=report_body(NAME, PHONE),
                headers={**op, "X-Request-ID": "life-1"},
            )
            assert reported.status_code == 201, reported.text
            url = f"/api/incidents/{reported.json()['incident_id']}"
            assert http.post(f"{url}/dispatch", json={}, headers=op).status_code == 200
            # The crew's tablet gets the job (with the caller, to call back) on its socket.
            socket_url = f"ws://127.0.0.1:{live.port}/ws/crew?token={tokens['crew-repair']}"
            with connect(socket_url) as tablet:
                assert NAME in tablet.recv(timeout=30)
            for action, data in REPAIR_STEPS:
                answer = http.post(f"{url}/{action}", json=data, headers=crew)
                assert answer.status_code == 200, (action, answer.text)
            # 2. Every read that shows the caller, and queries that carry their data.
            assert http.get(url, headers=op).json()["caller"] == {"name": NAME, "phone": PHONE}
            assert http.get(f"{url}/history", headers=aud).status_code == 200
            assert http.get(f"{url}/export", headers=aud).json()["personal_data"] == "clear"
            assert http.get(f"{url}/export", headers=adm).json()["personal_data"] == "masked"
            later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
            due = http.get("/api/followups", params={"due_before": later}, headers=op)
            assert PHONE in due.text
            call = http.post(
                f"{url}/followup/calls", json={"reached": True, "satisfaction": 5}, headers=op
            )
            assert call.status_code == 200, call.text
            assert (
                http.get("/api/incidents/search", params={"plate": PHONE}, headers=aud).status_code
                == 200
            )
            assert http.get("/api/places", params={"q": NAME}, headers=op).status_code == 200
            # 3. Errors: a phone refused (the answer names it to the operator who typed it),
            #    a step out of turn, an unknown route whose path holds the phone.
            refused = http.post(
                "/api/incidents",
                json=report_body(NAME, BAD_PHONE),
                headers={**op, "X-Request-ID": "bad-phone"},
            )
            assert refused.status_code == 422
            assert http.post(f"{url}/depart", headers=crew).status_code == 409
            assert http.get(f"/api/callers/{PHONE}", headers=op).status_code == 404
            assert http.post(f"{url}/close", headers=op).status_code == 200
    lines = log_lines(live)
    # 4. The log did record these requests (a control: the scan sees the right output) ...
    assert request_lines(lines, "life-1")[0]["status"] == 201
    assert request_lines(lines, "bad-phone")[0]["status"] == 422
    # 5. ... but neither the name nor the phones, raw or in any escaping a JSON writer uses.
    raw = live.log_path.read_text(encoding="utf-8")
    decoded = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    for secret in (NAME, PHONE, BAD_PHONE, "415 555 2671"):
        escaped = json.dumps(secret)[1:-1]
        for text in (raw, decoded):
            assert secret not in text and escaped not in text, secret
    for token in tokens.values():
        assert token not in raw
