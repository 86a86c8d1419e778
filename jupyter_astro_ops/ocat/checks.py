"""Value checks of a submission, from the rules file: each one a warning, never a refusal.

``data/rules.json`` (or ``c.OcatService.rules_path``) holds the rules; ``Checker.warnings``
runs them on the values the observation would have after the change (current values overlaid
with the requested ones) and returns ``CheckWarning``s. The rule kinds:

* ``ranges``: a value outside the catalog's ``min``/``max`` or ``allowed`` (RA 0-360 and Dec
  -90..90 are ranges of the catalog);
* ``companions``: a lead parameter set to one of ``values`` needs all of ``requires``;
* ``exclusive``: for ``instruments``, exactly one of ``exactly_one`` is set (ACIS frame time
  vs most efficient);
* ``required``: for ``instruments``, ``param`` must be set (HRC needs an SI mode);
* ``ordered``: ``start <= stop`` for each rank of the time windows;
* ``shift``: the pointing moves by more than ``max_arcmin``: CDO approval needed (also a flag);
* ``cdo_params``: changing one of ``params`` needs CDO approval.

``flags`` computes the submission flags the board and mission planning look at.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from ..core.timeutil import parse_instant
from .catalog import Catalog
from .schemas import CheckWarning

ARCMIN_PER_DEG = 60.0


def load_rules(path: str | None = None) -> dict[str, Any]:
    """The rules file (the packaged one when ``path`` is empty)."""
    if path:
        return dict(json.loads(Path(path).expanduser().read_text("utf-8")))
    text = resources.files(__package__).joinpath("data/rules.json").read_text("utf-8")
    return dict(json.loads(text))


def separation_arcmin(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance between two J2000 positions in arcmin (haversine)."""
    p1, p2 = math.radians(dec1), math.radians(dec2)
    dra, ddec = math.radians(ra2 - ra1), p2 - p1
    h = math.sin(ddec / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dra / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h)))) * ARCMIN_PER_DEG


def _is_set(value: Any, unset: list[Any]) -> bool:
    if isinstance(value, str):
        value = value.strip()
    return value not in unset and value is not None and value != ""


class Checker:
    """Runs the rules file's checks against one proposed change."""

    def __init__(self, catalog: Catalog, rules: Mapping[str, Any]) -> None:
        self.catalog = catalog
        self.rules = dict(rules)

    def si_mode_param(self, instrument: str) -> str | None:
        return self.rules.get("si_mode", {}).get(instrument)

    def warnings(self, instrument: str, current: Mapping[str, Any],
                 requested: Mapping[str, Any]) -> list[CheckWarning]:
        """Every failed check of ``current`` overlaid with ``requested``."""
        after = {**current, **requested}
        instrument = str(after.get("instrument") or instrument)
        out: list[CheckWarning] = []
        if self.rules.get("ranges", True):
            out += self._ranges(requested)
        out += self._companions(after)
        out += self._exclusive(instrument, after)
        out += self._required(instrument, after)
        out += self._ordered(after)
        out += self._shift(current, after)
        out += self._cdo(current, requested)
        return out

    def _ranges(self, requested: Mapping[str, Any]) -> list[CheckWarning]:
        out = []
        for name, value in requested.items():
            param = self.catalog.parameter(name)
            if value is None:
                continue
            if param.allowed and str(value) not in param.allowed:
                out.append(CheckWarning(rule="allowed", params=[name], message=(
                    f"{name} = {value!r} is not one of {', '.join(param.allowed)}")))
            if isinstance(value, int | float) and (
                    (param.min is not None and value < param.min)
                    or (param.max is not None and value > param.max)):
                unit = f" {param.unit}" if param.unit else ""
                out.append(CheckWarning(rule="range", params=[name], message=(
                    f"{name} = {value:g}{unit} is outside {param.min:g}..{param.max:g}{unit}")))
        return out

    def _companions(self, after: Mapping[str, Any]) -> list[CheckWarning]:
        out = []
        for rule in self.rules.get("companions", []):
            lead = rule["lead"]
            if str(after.get(lead) or "") not in rule["values"]:
                continue
            missing = [p for p in rule["requires"] if not _is_set(after.get(p), [])]
            if missing:
                out.append(CheckWarning(rule="companions", params=[lead, *missing], message=(
                    f"{lead} = {after.get(lead)} needs {', '.join(missing)}")))
        return out

    def _exclusive(self, instrument: str, after: Mapping[str, Any]) -> list[CheckWarning]:
        out = []
        for rule in self.rules.get("exclusive", []):
            if instrument not in rule.get("instruments", [instrument]):
                continue
            names = rule["exactly_one"]
            chosen = [n for n in names if _is_set(after.get(n), rule.get("unset", []))]
            if len(chosen) != 1:
                out.append(CheckWarning(rule="exclusive", params=list(names),
                                        message=rule.get("message", "exactly one of "
                                                         + ", ".join(names))))
        return out

    def _required(self, instrument: str, after: Mapping[str, Any]) -> list[CheckWarning]:
        out = []
        for rule in self.rules.get("required", []):
            name = rule["param"]
            if instrument not in rule.get("instruments", [instrument]):
                continue
            if not _is_set(after.get(name), rule.get("unset", [])):
                out.append(CheckWarning(rule="required", params=[name],
                                        message=rule.get("message", f"{name} is required")))
        return out

    def _ordered(self, after: Mapping[str, Any]) -> list[CheckWarning]:
        out = []
        for rule in self.rules.get("ordered", []):
            start, stop = after.get(rule["start"]), after.get(rule["stop"])
            if not start or not stop:
                continue
            try:
                bad = parse_instant(str(start)) > parse_instant(str(stop))
            except ValueError:
                continue  # not a time: the type check refused it already
            if bad:
                out.append(CheckWarning(rule="ordered", params=[rule["start"], rule["stop"]],
                                        message=(f"time window {rule.get('rank', '')}: "
                                                 f"{rule['start']} is after {rule['stop']}")))
        return out

    def shift_arcmin(self, current: Mapping[str, Any], after: Mapping[str, Any]) -> float:
        """How far the change moves the pointing (0 when RA/Dec are unknown)."""
        rule = self.rules.get("shift") or {}
        ra_name, dec_name = rule.get("ra", "ra"), rule.get("dec", "dec")
        try:
            old = float(current[ra_name]), float(current[dec_name])
            new = float(after[ra_name]), float(after[dec_name])
        except (KeyError, TypeError, ValueError):
            return 0.0
        return separation_arcmin(*old, *new)

    def _shift(self, current: Mapping[str, Any], after: Mapping[str, Any]) -> list[CheckWarning]:
        rule = self.rules.get("shift")
        if not rule:
            return []
        arcmin = self.shift_arcmin(current, after)
        if arcmin <= rule["max_arcmin"]:
            return []
        return [CheckWarning(rule="shift", params=[rule.get("ra", "ra"), rule.get("dec", "dec")],
                             message=rule["message"].format(arcmin=arcmin,
                                                            max=rule["max_arcmin"]))]

    def _cdo(self, current: Mapping[str, Any], requested: Mapping[str, Any]
             ) -> list[CheckWarning]:
        rule = self.rules.get("cdo_params")
        if not rule:
            return []
        return [CheckWarning(rule="cdo", params=[name],
                             message=rule["message"].format(param=name))
                for name in rule["params"]
                if name in requested
                and not self.catalog.parameter(name).same(current.get(name), requested[name])]

    # -- flags ------------------------------------------------------------------------------
    def flags(self, *, current: Mapping[str, Any], requested: Mapping[str, Any],
              planned: datetime | None, or_list: bool, comment_changed: bool,
              now: datetime) -> list[str]:
        """The flags of a submission (``target_name``, ``comment``, ``instrument``,
        ``large_shift``, ``near_date``, ``or_list``)."""
        spec = self.rules.get("flags", {})
        changed = self.catalog.changed(current, requested)
        after = {**current, **requested}
        out = []
        if spec.get("target_param", "target_name") in changed:
            out.append("target_name")
        if comment_changed:
            out.append("comment")
        if changed & set(spec.get("instrument_params", ["instrument", "grating"])):
            out.append("instrument")
        if self.shift_arcmin(current, after) > spec.get("large_shift_arcmin", 8.0):
            out.append("large_shift")
        if planned is not None and now <= planned < now + timedelta(
                days=spec.get("near_days", 10)):
            out.append("near_date")
        if or_list:
            out.append("or_list")
        return out


MP_FLAGS = frozenset({"target_name", "large_shift", "near_date", "or_list"})
