"""The limits every request input passes before it reaches a pydantic model.

One place for the input policy of every route (REST and the compatible APIs), so a new route
is covered the day it is added; the schemas then bound each field (``core.wire``):

* **bodies**: at most ``MAX_BODY_BYTES`` (1 MiB), UTF-8 JSON, an object, nested at most
  ``MAX_JSON_DEPTH`` (32) levels;
* **strings** anywhere in a body or query (keys too): no NUL, no lone surrogates, at most
  ``MAX_STRING`` (100,000) characters; at most ``MAX_QUERY_ARGS`` query arguments;
* **path values** (a user name in the URL): the string policy, at most ``MAX_PATH_VALUE``;
* **headers** read as numbers: digits only, at most ``MAX_HEADER_DIGITS``.

Anything else is a ``ValidationError`` (400) naming what was wrong; nothing here can raise
``RecursionError`` or ``OverflowError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.errors import ValidationError

MAX_BODY_BYTES = 1 << 20
MAX_JSON_DEPTH = 32
MAX_STRING = 100_000
MAX_QUERY_ARGS = 100
MAX_HEADER_DIGITS = 10
MAX_PATH_VALUE = 256
IGNORED_QUERY = ("token", "_xsrf")


def load_body(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw`` (an empty body is ``{}``), within the limits above."""
    if not raw:
        return {}
    if len(raw) > MAX_BODY_BYTES:
        raise ValidationError(f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ValidationError(f"request body is nested deeper than {MAX_JSON_DEPTH} levels"
                              ) from exc
    if not isinstance(data, dict):
        raise ValidationError("request body must be a JSON object")
    check_json(data)
    return data


def check_json(data: Any) -> None:
    """Depth and string policy of a decoded JSON value (iterative: no recursion limit)."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "(body)")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            check_string(value, where)
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ValidationError(
                    f"request body is nested deeper than {MAX_JSON_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                path = f"{where}.{key}" if where != "(body)" else str(key)
                if isinstance(key, str):
                    check_string(key, f"{path} (name)")
                stack.append((item, depth + 1, path))


def check_string(value: str, where: str) -> None:
    """No NUL, no lone surrogate, bounded length."""
    if len(value) > MAX_STRING:
        raise ValidationError(f"{where}: longer than {MAX_STRING} characters",
                              details=[{"field": where, "error": "too long"}])
    if "\x00" in value:
        raise ValidationError(f"{where}: must not contain NUL characters",
                              details=[{"field": where, "error": "NUL character"}])
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{where}: must be valid Unicode (no lone surrogates)",
                              details=[{"field": where, "error": "lone surrogate"}]) from None


def check_path_value(value: str, name: str) -> None:
    """A value taken from the URL path (a user name, ...): the string policy, 256 chars."""
    if len(value) > MAX_PATH_VALUE:
        raise ValidationError(f"{name}: longer than {MAX_PATH_VALUE} characters")
    check_string(value, name)


def query_data(arguments: Mapping[str, Sequence[bytes]], lists: Sequence[str] = ()
               ) -> dict[str, Any]:
    """Query arguments as model input; names in ``lists`` take repeats or comma lists."""
    if sum(len(v) for v in arguments.values()) > MAX_QUERY_ARGS:
        raise ValidationError(f"more than {MAX_QUERY_ARGS} query arguments")
    data: dict[str, Any] = {}
    for name, values in arguments.items():
        if name in IGNORED_QUERY or _cache_buster(name, values):
            continue
        check_string(name, f"{name} (query name)")
        decoded = [v.decode("utf-8", "replace") for v in values]
        for value in decoded:
            check_string(value, name)
        if name in lists:  # an empty item ("?status=" or "A,,B") is an invalid value, not none
            data[name] = [part for v in decoded for part in v.split(",")]
        else:
            data[name] = decoded[-1]
    return data


def _cache_buster(name: str, values: Sequence[bytes]) -> bool:
    """JupyterLab's ``ServerConnection`` appends ``?<milliseconds>`` (no value) to GETs made
    with ``cache: 'no-store'``; such an argument carries no meaning and is skipped."""
    return name.isascii() and name.isdigit() and len(name) <= 16 and not any(values)


def header_number(raw: str | None, name: str) -> int | None:
    """A header holding a (possibly quoted, possibly weak) entity tag that is a number:
    ``3``, ``"3"``, ``W/"3"``; ``None`` when absent or ``*``."""
    if raw is None or raw.strip() == "*":
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if not tag.isascii() or not tag.isdigit() or len(tag) > MAX_HEADER_DIGITS:
        raise ValidationError(f"{name} must be a version number of at most "
                              f"{MAX_HEADER_DIGITS} digits, not {raw[:40]!r}")
    return int(tag)


__all__ = ["MAX_BODY_BYTES", "MAX_HEADER_DIGITS", "MAX_JSON_DEPTH", "MAX_PATH_VALUE",
           "MAX_QUERY_ARGS", "MAX_STRING", "check_json", "check_path_value", "check_string",
           "header_number", "load_body", "query_data"]
