"""Location types (``c.PlannerService.location_types``): what a block can say about a person.

Each type has a code, a label, a colour, a kind (``place``: where someone works; ``leave``:
away; ``duty``: a rostered duty such as a summit night), whether a note is required (WFH) and
``self_service``: which roles may put it on their *own* row (``"*"``: everyone; ``[]``: only a
planner admin, or an import). P-Squared hid leave types and Remote from non-admins in its UI;
here that is a rule the service enforces for every caller. Roles are matched against both the
Jupyter roles of the user (``c.AstroOpsApp.roles``) and the employee's directory roles.

The defaults are the P-Squared locations of W. M. Keck Observatory plus two duty types for the
night roster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .schemas import CODE_BODY, NO_LOCATION, LocationTypeOut

EVERYONE = "*"
KINDS = ("place", "leave", "duty")
HOLIDAY = "Holiday"  # the pseudo location of generated holiday blocks
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_CODE = re.compile(f"^{CODE_BODY}$")
NIGHT_ROLES = ["night_attendant", "observing_assistant"]

DEFAULT_LOCATION_TYPES: dict[str, dict[str, Any]] = {
    "HQ": {"label": "Headquarters (Waimea)", "colour": "#4e79a7", "kind": "place"},
    "SU": {"label": "Summit", "colour": "#e15759", "kind": "place"},
    "HP": {"label": "Hale Pohaku", "colour": "#f28e2b", "kind": "place"},
    "Hilo": {"label": "Hilo office", "colour": "#76b7b2", "kind": "place"},
    "Kona": {"label": "Kona office", "colour": "#59a14f", "kind": "place"},
    "WFH": {"label": "Working from home", "colour": "#edc948", "kind": "place",
            "note_required": True},
    "Remote": {"label": "Remote observing", "colour": "#b07aa1", "kind": "place",
               "self_service": []},
    "Travel": {"label": "Travel", "colour": "#9c755f", "kind": "place"},
    "Flex": {"label": "Flex time", "colour": "#bab0ac", "kind": "place"},
    "Other": {"label": "Other", "colour": "#86bcb6", "kind": "place", "note_required": True},
    "Vacation": {"label": "Vacation", "colour": "#8cd17d", "kind": "leave",
                 "self_service": []},
    "Sick": {"label": "Sick leave", "colour": "#ff9d9a", "kind": "leave", "self_service": []},
    "FamilySick": {"label": "Family sick leave", "colour": "#fabfd2", "kind": "leave",
                   "self_service": []},
    "JuryDuty": {"label": "Jury duty", "colour": "#d4a6c8", "kind": "leave",
                 "self_service": []},
    "SUNight": {"label": "Summit night duty", "colour": "#2f3e9e", "kind": "duty",
                "self_service": NIGHT_ROLES},
    "NgtSup": {"label": "Night support", "colour": "#6a3d9a", "kind": "duty",
               "self_service": ["staff_astronomer"]},
}


@dataclass(frozen=True)
class LocationType:
    """One configured location type."""

    code: str
    label: str
    colour: str
    kind: str
    note_required: bool = False
    self_service: tuple[str, ...] = (EVERYONE,)

    def settable_by(self, roles: Iterable[str]) -> bool:
        """Whether someone holding ``roles`` may put this type on their own row."""
        return EVERYONE in self.self_service or bool(set(roles) & set(self.self_service))

    def out(self, settable: bool = False) -> LocationTypeOut:
        return LocationTypeOut(code=self.code, label=self.label, colour=self.colour,
                               kind=self.kind,  # type: ignore[arg-type]
                               note_required=self.note_required,
                               self_service=list(self.self_service), settable=settable)


def parse_location_types(spec: Mapping[str, Mapping[str, Any]]) -> dict[str, LocationType]:
    """``{code: {label, colour, kind, note_required, self_service}}`` -> ``LocationType``s.

    Raises ``ValueError`` naming the first problem (config errors are found at start-up).
    """
    out: dict[str, LocationType] = {}
    for code, item in spec.items():
        where = f"location type {code!r}"
        if not _CODE.match(code) or code.lower() in (NO_LOCATION, HOLIDAY.lower()):
            raise ValueError(f"{where}: a code is a letter then up to 31 letters, digits, _ "
                             f"or - (and not {NO_LOCATION!r} or {HOLIDAY!r})")
        unknown = set(item) - {"label", "colour", "kind", "note_required", "self_service"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        kind = item.get("kind", "place")
        if kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {KINDS}, not {kind!r}")
        colour = item.get("colour", "#999999")
        if not isinstance(colour, str) or not _COLOUR.match(colour):
            raise ValueError(f"{where}: colour must look like #1f77b4, not {colour!r}")
        roles = item.get("self_service", [EVERYONE])
        if isinstance(roles, str) or not all(isinstance(r, str) for r in roles):
            raise ValueError(f"{where}: self_service is a list of role names (or ['*'])")
        out[code] = LocationType(code=code, label=str(item.get("label", code))[:128],
                                 colour=colour, kind=kind,
                                 note_required=bool(item.get("note_required", False)),
                                 self_service=tuple(roles))
    if not out:
        raise ValueError("at least one location type is needed")
    return out


__all__ = ["DEFAULT_LOCATION_TYPES", "EVERYONE", "HOLIDAY", "KINDS", "LocationType",
           "parse_location_types"]
