"""The base API handler: identity, body/query parsing, JSON output, and the error map.

Handlers stay thin: ``user = self.astro_user``, ``body = self.parse_body(Model)``,
``result = await self.call(self.services.<domain>.<part>.method, user, body)``,
``self.write_json(result)``. ``self.services`` is the typed ``compose.Services`` built once
by the composition root, so mypy checks every call a handler makes.
Domain errors raised anywhere below become ``{"message", "reason", "details"}`` JSON with the
status from ``web.errors``; bad input never turns into a 500.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import pydantic
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ..compose import Services
from ..core.errors import Unauthenticated, ValidationError
from ..core.identity import RoleMap, User
from .errors import describe, status_for

M = TypeVar("M", bound=pydantic.BaseModel)
R = TypeVar("R")
P = ParamSpec("P")

API_PREFIX = "/astro-ops/api/v1"
SERVICES_KEY = "astro_ops_services"


def api_path(path: str) -> str:
    """A route pattern under ``<base_url>astro-ops/api/v1/``."""
    return f"{API_PREFIX}/{path.lstrip('/')}"


def services_of(settings: dict[str, Any]) -> Services:
    """The ``Services`` that ``AstroOpsApp`` put into the tornado settings."""
    services = settings[SERVICES_KEY]
    assert isinstance(services, Services)
    return services


def user_from_jupyter(jupyter_user: Any, roles: RoleMap) -> User:
    """Turn Jupyter's ``current_user`` into our ``User`` with roles (groups if the IdP has them)."""
    if jupyter_user is None:
        raise Unauthenticated("not logged in")
    return roles.resolve(
        jupyter_user.username,
        getattr(jupyter_user, "display_name", "") or getattr(jupyter_user, "name", ""),
        getattr(jupyter_user, "groups", ()) or (),
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

    # -- input -----------------------------------------------------------------------------
    def parse_body(self, model: type[M]) -> M:
        """Validate the JSON body against ``model`` (400 on malformed JSON or bad fields)."""
        raw = self.request.body
        if not raw:
            data: Any = {}
        else:
            try:
                data = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ValidationError(f"request body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValidationError("request body must be a JSON object")
        return model.model_validate(data)

    def parse_query(self, model: type[M], lists: Sequence[str] = ()) -> M:
        """Validate query arguments; names in ``lists`` accept repeats or comma lists."""
        data: dict[str, Any] = {}
        for name, values in self.request.query_arguments.items():
            if name in ("token", "_xsrf"):
                continue
            decoded = [v.decode("utf-8", "replace") for v in values]
            if name in lists:
                data[name] = [part for v in decoded for part in v.split(",") if part]
            else:
                data[name] = decoded[-1]
        return model.model_validate(data)

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


__all__ = ["API_PREFIX", "AstroOpsHandler", "api_path", "authenticated", "services_of",
           "to_jsonable"]
authenticated = web.authenticated
