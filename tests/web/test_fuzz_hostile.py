"""Hostile values in every field of every operation the served document lists.

Read from the live server's own OpenAPI document, so a route added tomorrow is fuzzed the day
it is added: each path parameter, query parameter, top-level body field, the body as a whole
and the ``If-Match`` header get values that broke servers before (deep nesting, times that
overflow when converted to UTC, integers past 64 bits, lone surrogates, NUL, 100 KB strings,
numbers of 5,000 digits). Every answer must be below 500 and, when an error, the one JSON
error shape with a string ``reason``; the server log must hold no traceback.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
import requests

from ..live import LiveServer

DEEP_LIST = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 60_000 + "1" + "}" * 60_000
STRINGS: list[Any] = ["\ud800", "a\x00b", "x" * 100_000, "../../../etc/passwd", "%2e%2e%2f",
                      "\u2025/x", "'; DROP TABLE x; --", ""]
NUMBERS: list[Any] = [2**63, -(2**63) - 1, 10**30, -1, 0, 1.5, True, "9" * 5000]
TIMES: list[Any] = ["9999-12-31T23:00:00-14:00", "0001-01-01T00:00:00+14:00", "0.5",
                    "2030-02-30T00:00:00Z", "2030-01-01T00:00:00"]
OTHERS: list[Any] = [None, [], {}, [[[[["deep"]]]]], {"$ne": 1}]
RAW_QUERY = ["%00", "%ED%A0%80", "x" * 8000,  # (longer: the HTTP layer drops the line)
              "9" * 5000, "-9223372036854775809",
             "9999-12-31T23%3A00%3A00-14%3A00", "0001-01-01T00%3A00%3A00%2B14%3A00"]
SAMPLES = {r"[0-9a-f]{32}": "0" * 32, r"[^/]+": "alice"}
SKIP = ("/astro-ops/api/v1/live", "/astro-ops/api/openapi.json")


def values_for(schema: dict[str, Any]) -> list[Any]:
    kind, fmt = schema.get("type"), schema.get("format")
    if fmt == "date-time":
        return TIMES + STRINGS[:3] + NUMBERS[:3]
    if kind in ("integer", "number"):
        return NUMBERS + STRINGS[:2]
    return STRINGS + NUMBERS[:3] + OTHERS


def sample_path(path: str, params: list[dict[str, Any]]) -> str:
    for param in params:
        if param.get("in") != "path":
            continue
        schema = param.get("schema", {})
        pattern = schema.get("pattern", "").strip("^$")
        value = SAMPLES.get(pattern) or ("1" if schema.get("type") == "integer" else "saf")
        if "root" in param["name"]:
            value = "archive"
        path = path.replace("{" + param["name"] + "}", value)
    return path


def body_properties(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    content = (op.get("requestBody") or {}).get("content", {}).get("application/json")
    if content is None:
        return None
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return dict(schema.get("properties") or {})


class Prober:
    """Sends one hostile request at a time and collects what breaks the rules."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {live.token('alice')}"
        self.problems: list[str] = []
        self.sent = 0

    def send(self, method: str, url: str, what: str, **kwargs: Any) -> None:
        self.sent += 1
        resp = self.session.request(method, url, timeout=60, **kwargs)
        if resp.status_code >= 500:
            self.problems.append(f"{resp.status_code} {method} {what}: {resp.text[:200]}")
        elif resp.status_code >= 400:
            try:
                body = resp.json()
            except ValueError:
                self.problems.append(f"non-JSON {resp.status_code} {method} {what}")
                return
            if not (isinstance(body, dict) and isinstance(body.get("message"), str)
                    and isinstance(body.get("reason"), str)):
                self.problems.append(f"bad error body {method} {what}: {resp.text[:200]}")


@pytest.mark.slow
def test_hostile_values_everywhere(live: LiveServer) -> None:
    probe = Prober(live)
    spec = probe.session.get(f"{live.url}astro-ops/api/openapi.json", timeout=30).json()
    base = live.url.rstrip("/")
    for path, ops in spec["paths"].items():
        if path in SKIP:
            continue
        for method, op in ops.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            verb = method.upper()
            params = op.get("parameters", [])
            url = base + sample_path(path, params)
            _path_values(probe, verb, path, params, base)
            for param in params:
                if param.get("in") == "query":
                    for raw in RAW_QUERY:
                        probe.send(verb, f"{url}?{param['name']}={raw}",
                                   f"{path}?{param['name']}={raw[:30]}")
                if param.get("in") == "header" and param["name"] == "If-Match":
                    for tag in ("9" * 5000, 'W/"' + "9" * 25 + '"', "\u00e9"):
                        probe.send(verb, url, f"{path} If-Match", headers={"If-Match": tag})
            properties = body_properties(spec, op)
            if properties is None:
                continue
            for raw_body in (DEEP_LIST, DEEP_OBJECT, "[]", "not json", "x" * (2 << 20)):
                probe.send(verb, url, f"{path} body {raw_body[:12]!r}",
                           data=raw_body.encode("utf-8"),
                           headers={"Content-Type": "application/json"})
            for name, schema in properties.items():
                for value in values_for(schema if "$ref" not in schema else {}):
                    probe.send(verb, url, f"{path} {name}={str(value)[:30]!r}",
                               data=json.dumps({name: value}).encode("ascii"),
                               headers={"Content-Type": "application/json"})
    assert probe.sent > 1000  # the document really was walked
    assert probe.problems == [], "\n".join(probe.problems[:40])
    assert live.server_errors() == [], "\n".join(live.server_errors()[:20])


def _path_values(probe: Prober, verb: str, path: str, params: list[dict[str, Any]],
                 base: str) -> None:
    for param in params:
        if param.get("in") != "path":
            continue
        for raw in ("%00", "%ED%A0%80", "x" * 300, quote("../../etc", safe="")):
            others = [p for p in params if p is not param]
            concrete = re.sub(r"\{" + param["name"] + r"\}", raw, sample_path(path, others))
            probe.send(verb, base + concrete, f"{path} {param['name']}={raw[:20]}")
