"""The parameter catalog: what can be changed, in which group, and which sign-offs a change needs.

Data, not code: ``data/parameters.json`` (or the file named by ``c.OcatService.catalog_path``)
lists every parameter (name, group, type, unit, range or allowed values, modifiable or
compare-only, description) and every sign-off column with the role that signs it and its
*applicability rules*: a list of clauses ``{"kinds": [...], "when": <condition>, "initial":
"pending" | "signed_by_submitter"}``; the first clause whose kinds and condition match gives
the column's initial state, no match means ``not_required``. Conditions::

    {"changed_groups": ["acis", "acis_window"]}   any parameter of these groups changed
    {"changed_params": ["ra", "dec"]}             any of these parameters changed
    {"instrument_in": ["HRC-I", "HRC-S"]}         the observation's instrument is one of these
    {"all": [cond, ...]}  {"any": [cond, ...]}    combinations

A parameter with ``blank_equals_default`` treats null, blank and its default as the same
value (the 2025 HRC SI fix of the original), so such a "change" is no change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from ..core.errors import ValidationError
from ..core.timeutil import isoformat, parse_instant

GROUPS = ("general", "time", "roll", "acis", "acis_window", "acis_si", "hrc_si")
KINDS = ("norm", "asis", "remove", "clone")
TYPES = ("str", "enum", "float", "int", "datetime")
INITIAL = ("pending", "signed_by_submitter")
MAX_TEXT = 4000


@dataclass(frozen=True)
class Parameter:
    """One catalog parameter."""

    name: str
    group: str
    type: str
    description: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] = ()
    modifiable: bool = True
    default: Any = None
    blank_equals_default: bool = False

    def coerce(self, value: Any) -> Any:
        """``value`` as this parameter's JSON type (``None`` stays ``None``: "clear it")."""
        if value is None:
            return None
        try:
            if self.type in ("float", "int"):
                if isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
                    raise ValueError("not a number")
                number = float(value)
                if number != number or number in (float("inf"), float("-inf")):
                    raise ValueError("not a finite number")
                if self.type == "int":
                    if number != int(number):
                        raise ValueError("not a whole number")
                    return int(number)
                return number
            if self.type == "datetime":
                when = value if isinstance(value, datetime) else parse_instant(str(value))
                return isoformat(when)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValidationError(f"{self.name}: {value!r} is not a {self.type}") from exc
        text = str(value)
        if len(text) > MAX_TEXT or "\x00" in text:
            raise ValidationError(f"{self.name}: text too long or not storable")
        return text.strip() if self.type == "enum" else text

    def normalized(self, value: Any) -> Any:
        """The value used to decide whether something changed."""
        if isinstance(value, str):
            value = value.strip()
        if self.blank_equals_default and (
                value in (None, "") or (isinstance(value, str) and isinstance(self.default, str)
                                        and value.upper() == self.default.upper())):
            return None
        if value == "":
            return None
        if self.type == "float" and isinstance(value, int | float):
            return round(float(value), 9)
        return value

    def same(self, old: Any, new: Any) -> bool:
        return self.normalized(old) == self.normalized(new)


@dataclass(frozen=True)
class Column:
    """A sign-off column: who signs it, when it applies, which parameters it looks after."""

    name: str
    label: str
    role: str
    stage: int
    applies: tuple[dict[str, Any], ...]
    watched_groups: frozenset[str] = frozenset()
    watched_params: frozenset[str] = frozenset()
    verification: bool = False


@dataclass(frozen=True)
class Change:
    """What a revision changes, as the applicability rules see it."""

    kind: str
    instrument: str
    changed: frozenset[str]


@dataclass
class Catalog:
    """The parameters and sign-off columns (immutable once loaded)."""

    parameters: dict[str, Parameter]
    columns: tuple[Column, ...]
    groups: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise ValidationError(f"no sign-off column {name!r}; one of {list(self.column_names)}")

    def parameter(self, name: str) -> Parameter:
        try:
            return self.parameters[name]
        except KeyError:
            raise ValidationError(f"unknown parameter {name!r}") from None

    def group_of(self, name: str) -> str:
        return self.parameter(name).group

    # -- changes ---------------------------------------------------------------------------
    def clean_request(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Validate requested values (known, modifiable, of the right type)."""
        out: dict[str, Any] = {}
        for name, value in changes.items():
            param = self.parameter(name)
            if not param.modifiable:
                raise ValidationError(f"{name} is compare-only and cannot be changed")
            out[name] = param.coerce(value)
        return out

    def changed(self, current: Mapping[str, Any], requested: Mapping[str, Any]) -> frozenset[str]:
        """Parameters whose requested value differs from the current one."""
        return frozenset(name for name, value in requested.items()
                         if not self.parameter(name).same(current.get(name), value))

    def watched(self, column: Column) -> frozenset[str]:
        """Every parameter a column looks after (for carrying sign-offs forward)."""
        return frozenset(p.name for p in self.parameters.values()
                         if p.group in column.watched_groups) | column.watched_params

    def initial(self, column: Column, change: Change) -> str:
        """``pending``, ``signed_by_submitter`` or ``not_required`` for a new revision."""
        for clause in column.applies:
            if change.kind not in clause.get("kinds", KINDS):
                continue
            if self._holds(clause.get("when"), change):
                return str(clause.get("initial", "pending"))
        return "not_required"

    def _holds(self, cond: Mapping[str, Any] | None, change: Change) -> bool:
        if not cond:
            return True
        if "all" in cond:
            return all(self._holds(c, change) for c in cond["all"])
        if "any" in cond:
            return any(self._holds(c, change) for c in cond["any"])
        if "changed_groups" in cond:
            groups = set(cond["changed_groups"])
            return any(self.parameters[n].group in groups for n in change.changed)
        if "changed_params" in cond:
            return bool(change.changed & set(cond["changed_params"]))
        if "instrument_in" in cond:
            return change.instrument in cond["instrument_in"]
        raise ValidationError(f"unknown applicability condition {sorted(cond)}")


def load_catalog(path: str | None = None) -> Catalog:
    """Read and check the catalog file (the packaged one when ``path`` is empty)."""
    if path:
        text, source = Path(path).expanduser().read_text("utf-8"), str(path)
    else:
        text = resources.files(__package__).joinpath("data/parameters.json").read_text("utf-8")
        source = "packaged parameters.json"
    data = json.loads(text)
    params = {}
    for item in data["parameters"]:
        spec = dict(item)
        spec["allowed"] = tuple(spec.get("allowed") or ())
        param = Parameter(**spec)
        if param.group not in GROUPS or param.type not in TYPES:
            raise ValueError(f"{source}: parameter {param.name}: bad group or type")
        params[param.name] = param
    columns = tuple(_column(c) for c in data["columns"])
    catalog = Catalog(params, columns, dict(data.get("groups", {})), source)
    _check(catalog, source)
    return catalog


def _column(item: Mapping[str, Any]) -> Column:
    watches = item.get("watches", {})
    return Column(name=item["name"], label=item.get("label", item["name"]), role=item["role"],
                  stage=int(item.get("stage", 1)), applies=tuple(item.get("applies", ())),
                  watched_groups=frozenset(watches.get("groups", ())),
                  watched_params=frozenset(watches.get("params", ())),
                  verification=bool(item.get("verification", False)))


def _check(catalog: Catalog, source: str) -> None:
    """Refuse a catalog that would break at submission time."""
    missing = set(GROUPS) - {p.group for p in catalog.parameters.values()}
    if missing:
        raise ValueError(f"{source}: no parameter in group(s) {sorted(missing)}")
    if sum(c.verification for c in catalog.columns) != 1:
        raise ValueError(f"{source}: exactly one column must be the verification column")
    probe = Change("norm", "ACIS-S", frozenset(catalog.parameters))
    for col in catalog.columns:
        for clause in col.applies:
            if clause.get("initial", "pending") not in INITIAL:
                raise ValueError(f"{source}: column {col.name}: bad initial state")
        catalog.initial(col, probe)  # unknown conditions fail here, not later


def names_in(values: Iterable[str], catalog: Catalog) -> list[str]:
    """``values`` in catalog order (stable output for tables and mail)."""
    wanted = set(values)
    return [n for n in catalog.parameters if n in wanted]
