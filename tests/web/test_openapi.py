"""The OpenAPI document is served, and lists every route the extension registers."""

from __future__ import annotations

import pytest

from jupyter_astro_ops.web.base import NotFoundHandler
from jupyter_astro_ops.web.openapi import route_to_openapi_path

HTTP_VERBS = ("get", "post", "put", "patch", "delete")


async def test_openapi_requires_login(api):
    status, _ = await api(None, "GET", "openapi.json")
    assert status == 403


async def test_every_route_is_documented(api, jp_serverapp):
    status, spec = await api("carol", "GET", "openapi.json")
    assert status == 200
    assert spec["openapi"].startswith("3.")
    ext = jp_serverapp.extension_manager.extension_apps["jupyter_astro_ops"]
    app = next(iter(ext))
    missing = []
    for pattern, handler, *_ in app.handlers:
        if handler is NotFoundHandler:
            continue  # the JSON 404 for every path no route matches: not an operation
        path = route_to_openapi_path(pattern)
        doc = spec["paths"].get(path)
        if doc is None:
            missing.append(path)
            continue
        for verb in HTTP_VERBS:
            implemented = getattr(handler, verb) is not getattr(
                handler.__mro__[-1], verb, None
            ) and verb.upper() in handler.SUPPORTED_METHODS and _overrides(handler, verb)
            if implemented and verb not in doc:
                missing.append(f"{verb.upper()} {path}")
    assert not missing, f"routes missing from openapi.json: {missing}"


def _overrides(handler: type, verb: str) -> bool:
    from tornado.web import RequestHandler

    return getattr(handler, verb) is not getattr(RequestHandler, verb)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            r"/astro-ops/api/v1/activity/(?P<event_id>[0-9a-f]{32})",
            "/astro-ops/api/v1/activity/{event_id}",
        ),
        (r"/astro-ops/api/openapi\.json", "/astro-ops/api/openapi.json"),
    ],
)
def test_route_to_openapi_path(pattern, expected):
    assert route_to_openapi_path(pattern) == expected
