"""The base API handler: identity, body/query parsing, JSON output, and the error map.

Handlers stay thin: ``user = self.astro_user``, ``body = self.parse_body(Model)``,
``result = await self.call(self.services.<domain>.<part>.method, user, body)``,
``self.write_json(result)``. ``self.services`` is the typed ``compose.Services`` built once
by the composition root, so mypy checks every call a handler makes.
Domain errors raised anywhere below become ``{"message", "reason", "details"}`` JSON with the
status from ``web.errors``; bad input never turns into a 500 (``web.inputs`` bounds bodies,
queries and headers first). Errors raised by Jupyter's own layers for our routes (login,
XSRF, an unsupported method) are written in the same shape, and ``NotFoundHandler`` answers
every unknown path under ``astro-ops/api/`` as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any, ParamSpec, TypeVar

import pydantic
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ..compose import Services
from ..core.db import WriterBusy
from ..core.errors import NotFound, Unauthenticated
from ..core.identity import RoleMap, User
from .errors import describe, reason_for_status, status_for
from .inputs import check_path_value, header_number, load_body, query_data

M = TypeVar("M", bound=pydantic.BaseModel)
R = TypeVar("R")
P = ParamSpec("P")

API_PREFIX = "/astro-ops/api/v1"
SERVICES_KEY = "astro_ops_services"
DASHBOARDS_URL_KEY = "astro_ops_dashboards_url"


def api_path(path: str) -> str:
    """A route pattern under ``<base_url>astro-ops/api/v1/``."""
    return f"{API_PREFIX}/{path.lstrip('/')}"


def services_of(settings: dict[str, Any]) -> Services:
    """The ``Services`` that ``AstroOpsApp`` put into the tornado settings."""
    services = settings[SERVICES_KEY]
    assert isinstance(services, Services)
    return services


def user_from_jupyter(jupyter_user: Any, roles: RoleMap) -> User:
    """Turn Jupyter's ``current_user`` into our ``User`` with roles.

    Groups come from the identity provider only: ``groups`` of our ``TokenMapIdentityProvider``
    users, or, under JupyterHub, the Hub's own user model (``hub_user["groups"]``, which the
    single-user server fetched from the Hub with the login's token).
    """
    if jupyter_user is None:
        raise Unauthenticated("not logged in")
    groups = getattr(jupyter_user, "groups", None)
    if groups is None:
        hub_user = getattr(jupyter_user, "hub_user", None)
        groups = hub_user.get("groups") if isinstance(hub_user, dict) else None
    return roles.resolve(
        jupyter_user.username,
        getattr(jupyter_user, "display_name", "") or getattr(jupyter_user, "name", ""),
        [g for g in groups or () if isinstance(g, str)],
    )


class AstroOpsHandler(ExtensionHandlerMixin, APIHandler):  # type: ignore[misc]
    """Base of every REST handler of the extension."""

    auth_resource = "astro_ops"

    # -- context ---------------------------------------------------------------------------
    @property
    def services(self) -> Services:
        """Every part, built once by the composition root (``AstroOpsApp``)."""
        return services_of(self.settings)

    @property
    def astro_user(self) -> User:
        """The acting user, from Jupyter's login only."""
        return user_from_jupyter(self.current_user, self.services.roles)

    async def call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run blocking service code (SQLAlchemy, fsspec) off the event loop (argument types
        are checked against ``fn``'s signature by mypy)."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def call_write(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn``, one short write transaction, as ``call`` does; on SQLite, when no other
        writer holds the database, on the event loop itself.

        A booking is a few SQLite calls of tens of µs each; on a worker thread each of them
        gives up the GIL and waits to get it back from the busy loop thread (server p50 of
        a booking: 2.5 ms there, 1.5-1.7 ms on the loop; ``bench_calendar.py``).
        ``db.no_wait()`` makes the write raise ``WriterBusy`` instead of waiting for another
        writer, before it wrote anything, and ``fn`` then runs again on a thread, where it may
        wait. So ``fn`` must be one write transaction with nothing but reads before it (the
        calendar's create, change and cancel are)."""
        db = self.services.db
        if db.dialect == "sqlite":
            try:
                with db.no_wait():
                    return fn(*args, **kwargs)
            except WriterBusy:
                pass  # another writer is at work: wait for it off the loop
        return await asyncio.to_thread(fn, *args, **kwargs)

    # -- input -----------------------------------------------------------------------------
    async def prepare(self) -> None:  # type: ignore[override]
        """Jupyter's checks (host, login, origin), then the string policy on path values."""
        await super().prepare()
        for name, value in self.path_kwargs.items():
            if isinstance(value, str):
                check_path_value(value, name)

    def parse_body(self, model: type[M]) -> M:
        """Validate the JSON body against ``model`` (400 on malformed JSON or bad fields)."""
        return model.model_validate(load_body(self.request.body))

    def parse_query(self, model: type[M], lists: Sequence[str] = ()) -> M:
        """Validate query arguments; names in ``lists`` accept repeats or comma lists."""
        return model.model_validate(query_data(self.request.query_arguments, lists))

    def if_match(self) -> int | None:
        """The version in an ``If-Match: "3"`` header (``None`` when absent or ``*``)."""
        return header_number(self.request.headers.get("If-Match"), "If-Match")

    # -- output ----------------------------------------------------------------------------
    def write_json(self, payload: Any, status: int = 200, location: str | None = None) -> None:
        """Serialize pydantic models (or lists/dicts of them) and finish the response."""
        self.set_status(status)
        if location:
            self.set_header("Location", location)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(dump_json(payload))

    def no_content(self) -> None:
        self.set_status(204)
        self.finish()

    def url_for_api(self, path: str) -> str:
        """Absolute path (with base_url) of an API resource, for ``Location`` headers."""
        return f"{self.base_url.rstrip('/')}{api_path(path)}"

    # -- errors ----------------------------------------------------------------------------
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors of Jupyter's own layers (login, XSRF, unsupported method, a bug) in the one
        JSON shape: ``{"message", "reason"}``, ``reason`` always a string."""
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, web.HTTPError):
            message = exc.log_message or HTTPStatus(status_code).phrase
            if exc.args and exc.log_message:
                with contextlib.suppress(TypeError, ValueError):
                    message = exc.log_message % exc.args
        else:  # an unexpected error: its traceback is in the server log, not in the answer
            message = "internal server error (logged)" if status_code >= 500 else (
                HTTPStatus(status_code).phrase)
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"message": message, "reason": reason_for_status(status_code)}))

    def allowed_methods(self) -> list[str]:
        """The HTTP methods this handler implements (for ``Allow`` on a 405)."""
        base = web.RequestHandler
        return [m for m in self.SUPPORTED_METHODS
                if getattr(type(self), m.lower(), None) is not getattr(base, m.lower(), None)]

    def _handle_request_exception(self, e: BaseException) -> None:
        status = status_for(e)
        if status is None or self._finished:
            super()._handle_request_exception(e)  # type: ignore[arg-type]
            return
        self.log.info("%s %s -> %s: %s", self.request.method, self.request.path, status, e)
        message, reason, details = describe(e)
        self.clear()
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        body: dict[str, Any] = {"message": message, "reason": reason}
        if details is not None:
            body["details"] = to_jsonable(details)
        self.finish(json.dumps(body))


class NotFoundHandler(AstroOpsHandler):
    """Every path under ``astro-ops/api/`` that no route matches: a JSON 404 for any verb."""

    async def prepare(self) -> None:  # type: ignore[override]  # no login needed to find nothing
        raise NotFound(f"no API route {self.request.method} {self.request.path[:200]}")


_ANY = pydantic.TypeAdapter(Any)


def dump_json(payload: Any) -> bytes:
    """Serialize a response body in pydantic-core (Rust) in one pass.

    Models, lists of models and plain data all go through one ``TypeAdapter(Any)``, which
    serializes each model by its own schema: several times faster than ``model_dump`` followed
    by ``json.dumps`` on large lists such as ``GET activity``. A payload with ``__json__`` (a
    cached page) renders itself once and is served from that.
    """
    rendered = getattr(payload, "__json__", None)
    if rendered is not None:
        return rendered()  # type: ignore[no-any-return]
    return _ANY.dump_json(payload)


def to_jsonable(payload: Any) -> Any:
    """Recursively convert pydantic models to JSON-ready data."""
    if isinstance(payload, pydantic.BaseModel):
        return payload.model_dump(mode="json")
    if isinstance(payload, list | tuple):
        return [to_jsonable(p) for p in payload]
    if isinstance(payload, dict):
        return {k: to_jsonable(v) for k, v in payload.items()}
    return _ANY.dump_python(payload, mode="json")


__all__ = ["API_PREFIX", "AstroOpsHandler", "NotFoundHandler", "api_path", "authenticated",
           "services_of", "to_jsonable"]
authenticated = web.authenticated
