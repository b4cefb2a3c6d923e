"""The baseline for the HTTP paths: bare FastAPI routes on the same uvicorn stack.

The same paths as the API, and the same work up to the point where the API
starts its own: the request is routed, a position body is read and parsed as
JSON (`Request.json`, as the API does), and a small JSON object is answered.
No token, no validation, no store. uvicorn runs with the settings of
`rescue serve` (its own loop and HTTP parser choice, no access log), in one
process as `rescue serve` does. Run: `python -m rescue.bench.bare_http PORT`.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from rescue.api.shared_port import hold_port, run_workers

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/vans/{van_id}/positions", status_code=202)
async def report_positions(van_id: str, request: Request) -> JSONResponse:
    raw = await request.json()
    accepted = len(raw) if isinstance(raw, list) else 1
    return JSONResponse({"accepted": accepted}, status_code=202)


@app.get("/api/vans/{van_id}")
def get_van(van_id: str) -> dict[str, Any]:
    # About the size of a van as the API shows it.
    return {
        "van_id": van_id,
        "station_id": "S-0001",
        "kind": "repair",
        "plate": "豫A12345",
        "on_duty": True,
        "lat": 34.7466,
        "lon": 113.6253,
        "position_at": "2026-01-01T08:00:00+00:00",
    }


if __name__ == "__main__":
    # python -m rescue.bench.bare_http PORT [PROCESSES]: as many processes as `rescue serve`
    # runs, behind the port the way it shares it (rescue.api.shared_port).
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    options: dict[str, Any] = {
        "log_config": None,
        "log_level": "warning",
        "access_log": False,
    }
    if workers == 1:
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), **options)
    else:
        run_workers(
            hold_port("127.0.0.1", int(sys.argv[1])),
            "rescue.bench.bare_http:app",
            workers,
            timeout_worker_healthcheck=30,
            **options,
        )
