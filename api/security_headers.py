"""Security headers on every answer, for pages served to the open internet.

The customer's tracking page is public, and every other page keeps a bearer
token in the browser, so each answer says: scripts, styles and connections
only from this server (no inline script, so injected markup cannot run),
never inside a frame, no content-type guessing, and no Referer, so a
tracking code in the address never reaches a tile server. A tile server
configured with `RESCUE_TILE_URL` is allowed to serve images.

The interactive API documentation (`/docs`, `/redoc`) loads its script from
a CDN and inline: it keeps every header but the script rules.

A plain ASGI middleware: it adds the headers to the response's start message
and never touches the body, so streams (server-sent events) pass as they are.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Paths whose pages FastAPI builds with a CDN's and inline scripts.
API_DOCS = ("/docs", "/redoc")


def content_security_policy(tile_url: str | None) -> str:
    # blob: the pages' own object URLs of photos they fetched with the bearer token.
    images = ["'self'", "data:", "blob:"]
    if tile_url:
        parts = urlsplit(tile_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            images.append(f"{parts.scheme}://{parts.netloc}")
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": " ".join(images),
        "connect-src": "'self'",
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeaders:
    def __init__(self, app: ASGIApp, tile_url: str | None = None) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        policy = content_security_policy(tile_url or os.environ.get("RESCUE_TILE_URL"))
        self.headers = [*common, (b"content-security-policy", policy.encode())]
        self.docs_headers = [*common, (b"content-security-policy", b"frame-ancestors 'none'")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = self.docs_headers if path.startswith(API_DOCS) else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(name, value) for name, value in extra if name not in present]
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)
