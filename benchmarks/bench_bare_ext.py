"""A bare Jupyter ``APIHandler`` returning a constant: the baseline of ``bench_api.py``.

Loaded into the same server as the extension (``--ServerApp.jpserver_extensions``, with this
directory on ``PYTHONPATH``); it goes through the same login and authorizer, so the ratio
measures only what our handler, service and database add.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

BODY = b'{"ok": true}'


class BareHandler(APIHandler):
    auth_resource = "astro_ops"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(BODY)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "bench_bare_ext"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    route = url_path_join(serverapp.base_url, "bench/bare")
    serverapp.web_app.add_handlers(".*$", [(route, BareHandler)])
