"""Domain errors shared by every service.

Services raise these; ``web.errors`` maps each class to one HTTP status, so handlers never
translate errors themselves and bad input can never surface as a 500.
"""

from __future__ import annotations

from typing import Any


class AstroOpsError(Exception):
    """Base class of every expected, user-facing error."""

    reason = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationError(AstroOpsError):
    """The request is malformed or violates a rule about its own content (HTTP 400)."""

    reason = "invalid"


class Unauthenticated(AstroOpsError):
    """No identity could be established (HTTP 403, as Jupyter answers API calls)."""

    reason = "unauthenticated"


class Forbidden(AstroOpsError):
    """The acting user lacks the role or ownership needed (HTTP 403)."""

    reason = "forbidden"


class NotFound(AstroOpsError):
    """The object does not exist, or is invisible to the acting user (HTTP 404)."""

    reason = "not_found"


class Conflict(AstroOpsError):
    """The change clashes with current state: stale version, overlap, illegal transition (409)."""

    reason = "conflict"
