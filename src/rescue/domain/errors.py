"""Domain errors; the API maps each to one HTTP status."""

from __future__ import annotations

from typing import Any


class RescueError(Exception):
    """Base of the errors a caller can act on."""


class NotFound(RescueError):
    """An id that names nothing (404)."""


class Conflict(RescueError):
    """A change that does not fit the current state (409); carries that state."""

    def __init__(self, message: str, state: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.state = state or {}


class Invalid(RescueError):
    """Input that passed the schema but breaks a rule that needs the store (422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Forbidden(RescueError):
    """The caller's role or van may not do this (403)."""


class Unavailable(RescueError):
    """The store cannot be reached; the request may be retried (503)."""


class Unauthenticated(RescueError):
    """No valid token: none given, unknown, revoked or expired (401); the message says which."""
