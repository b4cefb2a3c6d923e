"""Calling a lane (api/lanes.py) as the server does, with a recording application behind it.

The lane gets the served application on the scope, as under uvicorn; the
application behind it notes each request that reaches it (its scope and its
body) and answers 599, so each case shows whether the lane or the route answered.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.builders import HttpWorld


def known_to_the_book(world: HttpWorld, who: str) -> None:
    """Waits until the in-memory token book (which follows the log) knows the caller."""
    token = world.headers[who]["Authorization"].removeprefix("Bearer ")
    deadline = time.monotonic() + 10
    while world.app.access.known_principal(token) is None:
        assert time.monotonic() < deadline, f"the token book never learned {who}'s token"
        time.sleep(0.02)


class Behind:
    """The application behind the lane: notes each request that reaches it and its body."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        self.bodies.append(b"".join(chunks))
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def through(
    lane: ASGIApp,
    world: HttpWorld,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
) -> tuple[int, bytes]:
    """Sends one request through `lane`, its body in two chunks: the status and the answer."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "app": world.client.app,
    }
    half = len(body) // 2
    incoming: list[Message] = [
        {"type": "http.request", "body": body[:half], "more_body": True},
        {"type": "http.request", "body": body[half:], "more_body": False},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    # The store's work is done on the served app's own threads; this loop only awaits it.
    asyncio.run(lane(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, answer
