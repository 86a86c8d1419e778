"""The OpenAPI 3 document: a base, one ``openapi.json`` fragment per domain, pydantic schemas.

Each domain package keeps its paths in ``<domain>/openapi.json`` next to its handlers. What
can drift is generated from what actually runs, so the document says what the server really
accepts and sends:

* component schemas from the pydantic models of the domains' ``schemas`` modules;
* query parameters of an operation marked ``"x-query": "<Model>"`` from that model (the one
  the handler parses with ``parse_query``), with its bounds and patterns;
* path parameters' patterns and bounds from the route table's regular expressions;
* the error answers every operation can give (400 bad input, 403 not logged in or not
  allowed; 404 where the path names an object), all in the one ``Error`` shape.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from types import ModuleType
from typing import Any

import pydantic
from jupyter_server.auth.decorator import authorized
from pydantic.json_schema import models_json_schema
from tornado import web

from .base import AstroOpsHandler

REF_TEMPLATE = "#/components/schemas/{model}"


def _load(package: str, name: str) -> dict[str, Any]:
    return json.loads(resources.files(package).joinpath(name).read_text("utf-8"))


def schema_models(module: ModuleType) -> list[type[pydantic.BaseModel]]:
    """Every public pydantic model defined in ``module`` (``_Base`` helpers are not wire
    types)."""
    return [
        obj for name, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, pydantic.BaseModel) and obj.__module__ == module.__name__
        and not name.startswith("_")
    ]


def unique_models(modules: Iterable[ModuleType]) -> list[type[pydantic.BaseModel]]:
    """The models of ``modules``; two models of one name would make one ``$ref`` mean two
    shapes (pydantic then renames both after their modules), so that is an error."""
    models = [m for module in modules for m in schema_models(module)]
    names: dict[str, str] = {}
    for m in models:
        other = names.setdefault(m.__name__, m.__module__)
        if other != m.__module__:
            raise ValueError(f"schema name {m.__name__} is defined in {other} and {m.__module__}")
    return models


def build_spec(domain_packages: list[str], schema_modules: list[ModuleType],
               routes: Iterable[Sequence[Any]] = ()) -> dict[str, Any]:
    """Merge the base document, each domain's fragment and the generated parts."""
    spec = _load("jupyter_astro_ops.web", "openapi_base.json")
    for package in domain_packages:
        fragment = _load(package, "openapi.json")
        spec["paths"].update(fragment.get("paths", {}))
        spec["components"]["schemas"].update(fragment.get("schemas", {}))
    models = unique_models(schema_modules)
    if models:
        _, defs = models_json_schema(
            [(m, "serialization") for m in models], ref_template=REF_TEMPLATE
        )
        spec["components"]["schemas"].update(defs.get("$defs", {}))
    by_name = {m.__name__: m for m in models}
    path_params = _route_params(routes)
    for path, ops in spec["paths"].items():
        for verb, op in ops.items():
            if isinstance(op, dict) and verb in VERBS:
                _complete(op, by_name, path_params.get(path, {}))
    return spec


VERBS = ("get", "put", "post", "patch", "delete")
IF_MATCH = {"type": "string", "pattern": r'^(\*|(W/)?"?[0-9]{1,10}"?)$'}


def _complete(op: dict[str, Any], models: dict[str, type[pydantic.BaseModel]],
              path_params: dict[str, dict[str, Any]]) -> None:
    params = list(op.get("parameters", []))
    query_model = op.pop("x-query", None)
    if query_model is not None:
        params = [p for p in params if p.get("in") != "query"] + query_parameters(
            models[query_model])
    for param in params:
        if param.get("in") == "path" and param["name"] in path_params:
            param["schema"] = {**param.get("schema", {}), **path_params[param["name"]]}
        if param.get("in") == "header" and param["name"] == "If-Match":
            param["schema"] = IF_MATCH
    if params:
        op["parameters"] = params
    responses = op.setdefault("responses", {})
    responses.setdefault("400", {"$ref": "#/components/responses/BadRequest"})
    responses.setdefault("403", {"$ref": "#/components/responses/Forbidden"})
    if any(p.get("in") == "path" for p in params):
        responses.setdefault("404", {"$ref": "#/components/responses/NotFound"})


def query_parameters(model: type[pydantic.BaseModel]) -> list[dict[str, Any]]:
    """The query parameters ``parse_query(model)`` accepts, from the model's own schema."""
    schema = model.model_json_schema(mode="validation", ref_template=REF_TEMPLATE)
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        if "anyOf" in prop:  # Optional[X]: a query parameter is either absent or an X
            kinds = [k for k in prop.pop("anyOf") if k.get("type") != "null"]
            prop = {**(kinds[0] if len(kinds) == 1 else {"anyOf": kinds}), **prop}
            if prop.get("default", 0) is None:
                prop.pop("default")
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if prop.get("type") == "array":
            param.update(style="form", explode=False)  # ?status=A,B (repeats work too)
        if description:
            param["description"] = description
        out.append(param)
    return out


_ROUTE_GROUP = re.compile(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)")
_DIGITS = re.compile(r"^\[0-9\]\{1,(\d+)\}$")


def _route_params(routes: Iterable[Sequence[Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{openapi path: {param: schema constraints}}`` from the routes' named groups."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for route in routes:
        pattern = route[0]
        params: dict[str, dict[str, Any]] = {}
        for name, regex in _ROUTE_GROUP.findall(pattern):
            digits = _DIGITS.match(regex)
            params[name] = ({"minimum": 0, "maximum": 10 ** int(digits.group(1)) - 1}
                            if digits else {"pattern": f"^{regex}$"})
        if params:
            out[route_to_openapi_path(pattern)] = params
    return out


_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def route_to_openapi_path(pattern: str) -> str:
    """``/astro-ops/api/v1/activity/(?P<event_id>[0-9a-f]+)`` -> ``.../activity/{event_id}``."""
    path = _GROUP.sub(lambda m: "{" + m.group(1) + "}", pattern)
    return path.rstrip("$").replace("\\.", ".").replace("/?", "")


class OpenAPIHandler(AstroOpsHandler):
    """``GET <base_url>astro-ops/api/openapi.json``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(self.settings["astro_ops_openapi"])


routes = [(r"/astro-ops/api/openapi\.json", OpenAPIHandler)]
