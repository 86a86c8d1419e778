"""Reading external schedules shaped like the LCO observation portal's ``/api/schedule``.

The portal answers ``{"count", "next", "previous", "results": [observation, ...]}`` where an
observation is ``{id, start, end, site, enclosure, telescope, name, submitter, proposal,
observation_type, priority, state, request: {id, ...}, ...}``. A bare list of observations is
accepted too. Only ``PENDING`` and ``IN_PROGRESS`` observations are bookings (the Photon Ranch
importer kept only ``PENDING``); the rest (``CANCELED``, ``COMPLETED``, ...) count as absent.

The file is read through fsspec, so any URL works: ``file://``, ``memory://``, ``s3://``,
``http(s)://`` (with ``storage_options`` for credentials or endpoints).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import fsspec

from ...core.errors import NotFound, ValidationError
from ...core.timeutil import isoformat, parse_instant

BOOKED_STATES = frozenset({"PENDING", "IN_PROGRESS"})
TITLE_MAX = 256


@dataclass(frozen=True)
class Observation:
    """One scheduled observation, reduced to what a reservation holds."""

    external_id: str
    start: datetime
    end: datetime
    title: str
    submitter: str
    note: str


@dataclass
class Schedule:
    """The observations of one schedule file, the entries refused, and a content digest."""

    observations: list[Observation]
    invalid: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """SHA-256 of the normalized observations: same bookings -> same digest."""
        items = sorted((o.external_id, isoformat(o.start), isoformat(o.end), o.title, o.note,
                        o.submitter) for o in self.observations)
        return hashlib.sha256(json.dumps(items).encode("utf-8")).hexdigest()


def read_source(url: str, storage_options: Mapping[str, Any] | None = None) -> bytes:
    """The bytes at ``url`` (any fsspec URL); a missing file is ``NotFound``."""
    try:
        with fsspec.open(url, "rb", **dict(storage_options or {})) as handle:
            data: bytes = handle.read()
            return data
    except FileNotFoundError as exc:
        raise NotFound(f"no schedule at {url}") from exc
    except (ValueError, ImportError) as exc:  # unknown protocol, bad URL or options
        raise ValidationError(f"cannot read {url}: {exc}") from exc


def parse_schedule(raw: bytes, filters: Mapping[str, Any] | None = None) -> Schedule:
    """Parse a schedule; ``filters`` keeps only observations whose fields equal the given values
    (e.g. ``{"telescope": "0m35"}`` when the LCO site has several telescopes)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"the schedule is not valid JSON: {exc}") from exc
    items = data.get("results") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValidationError("a schedule is a list of observations or {'results': [...]}")
    schedule = Schedule(observations=[])
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            schedule.invalid.append(f"not an object: {str(item)[:40]}")
            continue
        if any(item.get(k) != v for k, v in (filters or {}).items()):
            continue
        if str(item.get("state", "PENDING")).upper() not in BOOKED_STATES:
            continue
        try:
            obs = observation_from(item)
        except (KeyError, TypeError, ValueError) as exc:
            schedule.invalid.append(f"observation {item.get('id', '?')}: {exc!r}")
            continue
        if obs.external_id in seen:
            schedule.invalid.append(f"observation {obs.external_id}: listed twice")
            continue
        seen.add(obs.external_id)
        schedule.observations.append(obs)
    return schedule


def observation_from(item: Mapping[str, Any]) -> Observation:
    """Map one portal observation to an ``Observation`` (raises on missing or bad fields)."""
    ext = str(item["id"]).strip()
    if not ext or len(ext) > 128:
        raise ValueError("bad id")
    start, end = parse_instant(str(item["start"])), parse_instant(str(item["end"]))
    if end <= start:
        raise ValueError("end is not after start")
    name = str(item.get("name") or f"LCO observation {ext}")
    submitter = str(item.get("submitter") or "LCO")
    raw_request = item.get("request")
    request: Mapping[str, Any] = raw_request if isinstance(raw_request, dict) else {}
    where = ".".join(str(item[k]) for k in ("site", "enclosure", "telescope") if item.get(k))
    lines = [
        "Scheduled by the LCO scheduler.",
        f"Observation {ext}" + (f", request {request['id']}" if request.get("id") else ""),
        f"Proposal: {item.get('proposal') or '-'}; submitter: {submitter}",
        f"Observation type: {item.get('observation_type') or 'NORMAL'}; "
        f"priority: {item.get('priority', '-')}",
    ]
    if where:
        lines.append(f"Telescope: {where}")
    return Observation(external_id=ext, start=start, end=end,
                       title=f"{name} (via LCO)"[:TITLE_MAX], submitter=submitter,
                       note="\n".join(lines))


def as_json(obs: Observation) -> dict[str, Any]:
    """JSON-ready form (for activity data and summaries)."""
    out = asdict(obs)
    out.update(start=isoformat(obs.start), end=isoformat(obs.end))
    return out
