"""Server-side timing for ``bench_calendar.py``: records tornado's request time per route.

Loaded as a server extension beside ``jupyter_astro_ops`` and ``bench_bare_ext``; it wraps the
web application's ``log_function`` (called once per finished request with the handler) and
serves ``GET /bench/calendar-index`` (is the reservation index built) and
``GET /bench/calendar-stats`` (JSON ``{"<METHOD> <path>": [ms, ...]}``; ``?reset=1``
clears it). ``BENCH_SWITCH_INTERVAL`` (seconds) sets ``sys.setswitchinterval`` in the server, to
show how much of the latency is threads waiting for the GIL. Only for benchmarks.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

TIMES: defaultdict[str, list[float]] = defaultdict(list)


class IndexHandler(APIHandler):
    """``GET /bench/calendar-index``: is the in-memory reservation index built yet?"""

    auth_resource = "astro_ops"

    @web.authenticated
    async def get(self) -> None:
        index = self.settings["astro_ops_services"].calendar.index
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"ready": index.ready, "size": index.size if index.ready else 0,
                                "rebuilds": index.rebuilds}))


class StatsHandler(APIHandler):
    auth_resource = "astro_ops"

    @web.authenticated
    async def get(self) -> None:
        payload = json.dumps(TIMES)
        if self.get_argument("reset", ""):
            TIMES.clear()
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(payload)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "bench_calendar_ext"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    if os.environ.get("BENCH_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    settings = serverapp.web_app.settings
    original = settings.get("log_function")

    def log_function(handler: Any) -> None:
        request = handler.request
        if not request.path.endswith("/bench/calendar-stats"):
            TIMES[f"{request.method} {request.path}"].append(request.request_time() * 1000)
        if original is not None:
            original(handler)

    settings["log_function"] = log_function
    route = url_path_join(serverapp.base_url, "bench/calendar-stats")
    index_route = url_path_join(serverapp.base_url, "bench/calendar-index")
    serverapp.web_app.add_handlers(".*$", [(route, StatsHandler), (index_route, IndexHandler)])
