"""Reading tables (CSV or JSON) from any fsspec URL: directory listings, night tables, leave.

``read_rows(url)`` returns ``(rows, digest)``: each row a ``{column: value}`` dict with its
1-based row number (the header of a CSV is row 0), and the SHA-256 of the bytes read. JSON is
a list of objects or ``{"rows"|"nights"|"leave"|"employees"|"results": [...]}``; the format
follows the file name (``.json``/``.csv``), else the first character. Every failure to read
is a ``ValidationError`` (a missing file a ``NotFound``), so a bad source is a 4xx and a
clear CLI message, never a crash.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from typing import Any

import fsspec

from ..core.errors import NotFound, ValidationError

LIST_KEYS = ("rows", "nights", "leave", "employees", "results")
MAX_BYTES = 16 * 1024 * 1024


def read_bytes(url: str, storage_options: Mapping[str, Any] | None = None) -> bytes:
    """The bytes at ``url`` (any fsspec URL), at most ``MAX_BYTES``."""
    try:
        with fsspec.open(url, "rb", **dict(storage_options or {})) as handle:
            data: bytes = handle.read(MAX_BYTES + 1)
    except FileNotFoundError as exc:
        raise NotFound(f"no file at {url}") from exc
    except (ValueError, ImportError, OSError) as exc:  # bad URL, protocol or options
        raise ValidationError(f"cannot read {url}: {exc}") from exc
    if len(data) > MAX_BYTES:
        raise ValidationError(f"{url} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    return data


def parse_rows(raw: bytes, name: str = "") -> list[tuple[int, dict[str, Any]]]:
    """``[(row number, {column: value}), ...]`` of a CSV or JSON document."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{name or 'the file'} is not UTF-8 text: {exc}") from exc
    lower = name.lower()
    is_json = lower.endswith(".json") or (not lower.endswith(".csv")
                                          and text.lstrip()[:1] in ("[", "{"))
    return _json_rows(text, name) if is_json else _csv_rows(text)


def _json_rows(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{name or 'the file'} is not valid JSON: {exc}") from exc
    if isinstance(data, dict):
        data = next((data[k] for k in LIST_KEYS if isinstance(data.get(k), list)), None)
    if not isinstance(data, list):
        raise ValidationError("a JSON table is a list of objects or {'rows': [...]}")
    return [(i, item if isinstance(item, dict) else {"_invalid": item})
            for i, item in enumerate(data, 1)]


def _csv_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
    if not reader.fieldnames:
        raise ValidationError("the CSV file has no header row")
    rows = []
    for i, row in enumerate(reader, 1):
        if row.get(None):  # more cells than columns
            rows.append((i, {"_invalid": f"{len(row[None])} cell(s) more than the header"}))
            continue
        clean = {str(k).strip().lower(): (v.strip() if isinstance(v, str) else v)
                 for k, v in row.items() if k is not None}
        if any(v not in (None, "") for v in clean.values()):
            rows.append((i, clean))
    return rows


def read_rows(url: str, storage_options: Mapping[str, Any] | None = None
              ) -> tuple[list[tuple[int, dict[str, Any]]], str]:
    """The rows at ``url`` and the SHA-256 of its bytes."""
    raw = read_bytes(url, storage_options)
    return parse_rows(raw, url.rsplit("/", 1)[-1]), hashlib.sha256(raw).hexdigest()


def split_list(value: Any) -> list[str]:
    """``"a; b,c"`` or ``["a", "b"]`` -> ``["a", "b", "c"]``."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in str(value).replace(";", ",").split(",") if p.strip()]


def normal(value: Any) -> str:
    """``" Night Attendant "`` -> ``"night_attendant"``."""
    return "_".join(str(value or "").strip().lower().replace("-", " ").split())


__all__ = ["MAX_BYTES", "normal", "parse_rows", "read_bytes", "read_rows", "split_list"]
