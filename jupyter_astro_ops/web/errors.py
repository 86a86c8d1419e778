"""The one map from exception classes to HTTP statuses.

Anything not listed is a bug and becomes a 500 with its traceback logged.
"""

from __future__ import annotations

import pydantic

from ..core import errors as e

STATUS_FOR: tuple[tuple[type[BaseException], int], ...] = (
    (e.ValidationError, 400),
    (pydantic.ValidationError, 400),
    (e.Unauthenticated, 403),
    (e.Forbidden, 403),
    (e.NotFound, 404),
    (e.Conflict, 409),
)


REASONS = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
           405: "method_not_allowed", 409: "conflict", 413: "too_large", 500: "internal"}


def reason_for_status(status: int) -> str:
    """The ``reason`` slug of an error body written for a bare HTTP status."""
    return REASONS.get(status, "internal" if status >= 500 else "error")


def status_for(exc: BaseException) -> int | None:
    """HTTP status of an expected error, or ``None`` for an unexpected one."""
    for cls, status in STATUS_FOR:
        if isinstance(exc, cls):
            return status
    return None


def pydantic_details(exc: pydantic.ValidationError) -> list[dict[str, str]]:
    """A compact, JSON-safe list of what was wrong with each field."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "error": err["msg"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def describe(exc: BaseException) -> tuple[str, str, object]:
    """``(message, reason, details)`` of an expected error."""
    if isinstance(exc, pydantic.ValidationError):
        details = pydantic_details(exc)
        first = details[0] if details else {"field": "?", "error": "invalid"}
        return f"invalid {first['field']}: {first['error']}", "invalid", details
    if isinstance(exc, e.AstroOpsError):
        return exc.message, exc.reason, exc.details
    return str(exc), "error", None
