"""Readiness for load balancers and scripts."""

from __future__ import annotations

import sqlite3
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from rescue.api.deps import AppDep
from rescue.api.responses import RETRY_AFTER
from rescue.store.env import is_sqlite, store_env

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 2


def store_reachable(url: str) -> str | None:
    """None if the store answers a trivial query now, else why not.

    A fresh connection rather than the application's pool: a pool waits (and
    retries) for a connection, while readiness must answer within seconds.
    """
    try:
        if is_sqlite(url):
            path = store_env(url)["SQLITE_DBNAME"]
            with sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=CHECK_TIMEOUT_S) as conn:
                conn.execute("SELECT 1").fetchone()
        else:
            import psycopg

            with psycopg.connect(url, connect_timeout=CHECK_TIMEOUT_S) as conn:
                conn.execute("SELECT 1").fetchone()
    except Exception as error:  # any failure to reach the store means "not ready"
        return str(error).strip()[:300] or type(error).__name__
    return None


class Ready(BaseModel):
    status: Literal["ok"]


class NotReady(BaseModel):
    status: Literal["unavailable"]
    detail: str


@router.get(
    "/healthz",
    response_model=Ready,
    responses={
        503: {
            "model": NotReady,
            "description": "the store cannot be reached",
            "headers": RETRY_AFTER,
        }
    },
)
def healthz(app: AppDep) -> JSONResponse:
    """200 once the server accepts work; 503 while its store cannot be reached."""
    problem = store_reachable(app.settings.db)
    if problem is not None:
        return JSONResponse(
            {"status": "unavailable", "detail": f"the store cannot be reached: {problem}"},
            status_code=503,
            headers={"Retry-After": "1"},
        )
    return JSONResponse({"status": "ok"})
