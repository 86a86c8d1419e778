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


async def test_component_names_are_the_models_own(api):
    """Two models of one name would make one ``$ref`` mean two shapes: every component is
    named after exactly one model (pydantic's module-qualified fallbacks never appear)."""
    _, spec = await api("carol", "GET", "openapi.json")
    qualified = [n for n in spec["components"]["schemas"] if "__" in n or n.startswith("_")]
    assert qualified == []


def test_two_models_of_one_name_are_an_error():
    import types

    import pydantic

    from jupyter_astro_ops.web.openapi import unique_models

    def module(name):
        mod = types.ModuleType(name)
        mod.Thing = type("Thing", (pydantic.BaseModel,), {"__module__": name})
        return mod

    with pytest.raises(ValueError, match="Thing is defined in one and two"):
        unique_models([module("one"), module("two")])


def test_query_parameters_come_from_the_handlers_models():
    """Planner and Ocat queries are documented from the models their handlers parse, so the
    bounds (a day's year range, a non-empty department, ``closed_hours >= 0``) are the same."""
    from jupyter_astro_ops.ocat.schemas import BoardQuery
    from jupyter_astro_ops.planner.query_schemas import GridQuery
    from jupyter_astro_ops.web.openapi import query_parameters

    grid = {p["name"]: p for p in query_parameters(GridQuery)}
    assert grid["start"]["required"] and grid["start"]["schema"]["pattern"].startswith("^(19")
    assert grid["department"]["schema"]["minLength"] == 1
    board = {p["name"]: p for p in query_parameters(BoardQuery)}
    assert board["closed_hours"]["schema"]["minimum"] == 0
