"""Exceptions raised by the Python client, one class per HTTP error status.

The server answers every error as JSON ``{"message", "reason", "details"}``; the client raises
the matching class with those three fields, so notebook code can write
``except ConflictError as err: print(err.details)``.
"""

from __future__ import annotations

from typing import Any

import requests


class AstroOpsError(Exception):
    """Base of every client error; ``status`` is the HTTP status (0 when there was no answer)."""

    status: int = 0

    def __init__(self, message: str, *, status: int | None = None, reason: str = "",
                 details: Any = None, url: str = "") -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.reason = reason
        self.details = details
        self.url = url

    def __str__(self) -> str:
        prefix = f"{self.status} " if self.status else ""
        tail = f" [{self.reason}]" if self.reason else ""
        return f"{prefix}{self.message}{tail}"


class BadRequest(AstroOpsError):
    """400: the server refused the input (bad field, bad path, unknown root...)."""

    status = 400


class PermissionDenied(AstroOpsError):
    """401/403: not logged in, or the user may not do this."""

    status = 403


class NotFound(AstroOpsError):
    """404: no such object (or not one the user may see)."""

    status = 404


class ConflictError(AstroOpsError):
    """409: the change clashes with the current state (double booking, stale version...)."""

    status = 409


class ServerError(AstroOpsError):
    """5xx: the server failed; its log has the traceback."""

    status = 500


class ConnectionFailed(AstroOpsError):
    """The server could not be reached at all."""


class ProtocolError(AstroOpsError):
    """The server answered 2xx with a body that is not what its API says (a version skew)."""


class JobFailed(AstroOpsError):
    """A staging job ended in failure (or was cancelled) while waiting for it."""

    def __init__(self, message: str, job: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.job = job


class ServerNotFound(AstroOpsError):
    """No Jupyter server URL could be found; pass ``url=`` (and ``token=``) explicitly."""


_BY_STATUS: dict[int, type[AstroOpsError]] = {
    400: BadRequest, 401: PermissionDenied, 403: PermissionDenied, 404: NotFound,
    409: ConflictError,
}


def error_from_response(resp: requests.Response) -> AstroOpsError:
    """The exception for a non-2xx response, carrying the server's message."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        message, reason, details = str(body["message"]), str(body.get("reason") or ""), \
            body.get("details")
    else:
        # an HTML error page (no such route, a proxy in between): name the request instead
        text = "" if "html" in resp.headers.get("Content-Type", "") else resp.text.strip()[:300]
        message = f"{resp.reason or 'HTTP error'}: {resp.request.method} {resp.url}" + (
            f": {text}" if text else "")
        reason, details = "", None
    cls = _BY_STATUS.get(resp.status_code)
    if cls is None:
        cls = ServerError if resp.status_code >= 500 else AstroOpsError
    return cls(message, status=resp.status_code, reason=reason, details=details, url=resp.url)
