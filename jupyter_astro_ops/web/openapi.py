"""The OpenAPI 3 document: a base, one ``openapi.json`` fragment per domain, pydantic schemas.

Each domain package keeps its paths in ``<domain>/openapi.json`` next to its handlers; the
component schemas are generated from the pydantic models of its ``schemas`` module, so the
document cannot drift from the validation that actually runs.
"""

from __future__ import annotations

import inspect
import json
import re
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
    """Every pydantic model defined in ``module``."""
    return [
        obj for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, pydantic.BaseModel) and obj.__module__ == module.__name__
    ]


def build_spec(domain_packages: list[str], schema_modules: list[ModuleType]) -> dict[str, Any]:
    """Merge the base document, each domain's fragment and generated component schemas."""
    spec = _load("jupyter_astro_ops.web", "openapi_base.json")
    for package in domain_packages:
        fragment = _load(package, "openapi.json")
        spec["paths"].update(fragment.get("paths", {}))
        spec["components"]["schemas"].update(fragment.get("schemas", {}))
    models = [m for module in schema_modules for m in schema_models(module)]
    if models:
        _, defs = models_json_schema(
            [(m, "serialization") for m in models], ref_template=REF_TEMPLATE
        )
        spec["components"]["schemas"].update(defs.get("$defs", {}))
    return spec


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
