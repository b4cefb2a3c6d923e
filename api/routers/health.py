"""Liveness for load balancers and scripts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Answers 200 once the server accepts work."""
    return {"status": "ok"}
