"""Handlers of the Photon Ranch compatible API: ``POST calendar/compat/<endpoint>``.

One thin handler class serves every endpoint; ``compat.OPERATIONS`` maps the endpoint to its
body model and to the ``CalendarCompat`` method. Answers are 200 with the original JSON shapes;
errors use the common ``{message, reason, details}`` body with 400/403/404/409.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..web.base import AstroOpsHandler, api_path
from .compat import OPERATIONS


class CompatHandler(AstroOpsHandler):
    """``POST`` + JSON, as the original Lambda endpoints."""

    def initialize(self, name: str, *args: Any, operation: str = "", **kwargs: Any) -> None:
        super().initialize(name, *args, **kwargs)
        self.operation = operation

    @web.authenticated
    @authorized
    async def post(self) -> None:
        model, method = OPERATIONS[self.operation]
        body = self.parse_body(model)
        compat = self.services.calendar.compat
        result = await self.call(getattr(compat, method), self.astro_user, body)
        self.write_json(result)


routes = [
    (api_path(f"calendar/compat/{name}"), CompatHandler, {"operation": name})
    for name in OPERATIONS
]
