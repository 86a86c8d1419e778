"""The Photon Ranch calendar API, kept: its request and response JSON over ``CalendarService``.

LCOGT's original (``handler.py`` of photonranch-calendar) took POSTed JSON with string times
and answered with DynamoDB-shaped bodies. The shapes are kept so its clients keep working; the
rules are ours: identity from the login (a ``creator_id`` that is not the caller's is refused
unless ``calendar_admin``), overlap checks on create and modify, half-open "active at t",
a window query that finds every overlapping event, and a login on every endpoint.

Event shape: ``event_id`` (a UUID), ``start``/``end``/``last_modified``
(``yyyy-MM-ddTHH:mm:ssZ``), ``creator``, ``creator_id``, ``site``, ``resourceId`` (= site),
``title``, ``reservation_type``, ``origin``, ``project_id`` (``"none"`` or
``"<name>#<created_at>"``), ``reservation_note``, and ``project_priority`` on imported events.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ..core.errors import Conflict, Forbidden, ValidationError
from ..core.identity import User
from ..core.timeutil import parse_instant
from .compat_schemas import (
    CompatEvent,
    CompatEventKey,
    CompatExpired,
    CompatModify,
    CompatProjects,
    CompatRemoveProject,
    CompatSiteTime,
    CompatUserSiteTime,
    CompatUserTime,
    CompatWindow,
)
from .schemas import ReservationIn, ReservationOut, ReservationPatch
from .service import CalendarService
from .writes import LCO_ORIGIN

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
OK = {"ResponseMetadata": {"HTTPStatusCode": 200}}



def parse_time(value: str) -> datetime:
    """``2022-05-14T17:30Z`` or ``2022-05-14T17:30:00Z`` (an offset is required)."""
    text = value.strip()
    if not text.endswith(("Z", "z")) and "+" not in text[10:] and "-" not in text[10:]:
        raise ValidationError(f"time {value!r} needs a zone, e.g. 2022-05-14T17:30:00Z")
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise ValidationError(f"bad time {value!r}; use yyyy-MM-ddTHH:mm[:ss]Z") from exc


def fmt(value: datetime) -> str:
    return value.strftime(TIME_FORMAT)


def to_pk(event_id: str) -> str:
    """A Photon Ranch ``event_id`` (UUID, with or without dashes) to our 32-hex id."""
    try:
        return uuid.UUID(event_id).hex
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValidationError(f"event_id {event_id!r} is not a UUID") from exc


class CalendarCompat:
    """One method per original endpoint; each takes the acting user and the parsed body."""

    def __init__(self, service: CalendarService) -> None:
        self.cal = service

    # -- shapes --------------------------------------------------------------------------------
    def events(self, rows: list[ReservationOut], full: bool = False) -> list[dict[str, Any]]:
        keys = self.cal.project_keys({r.project_id for r in rows if r.project_id is not None})
        return [self._event(r, keys, full) for r in rows]

    @staticmethod
    def _event(r: ReservationOut, keys: dict[int, tuple[str, datetime]],
               full: bool) -> dict[str, Any]:
        key = keys.get(r.project_id) if r.project_id is not None else None
        event: dict[str, Any] = {
            "event_id": str(uuid.UUID(r.id)), "start": fmt(r.start), "end": fmt(r.end),
            "creator": r.creator_name, "creator_id": r.creator_id, "site": r.site,
            "resourceId": r.site, "title": r.title, "reservation_type": r.type,
            "origin": r.origin, "project_id": f"{key[0]}#{fmt(key[1])}" if key else "none",
            "reservation_note": r.note, "last_modified": fmt(r.modified),
        }
        if r.origin == LCO_ORIGIN:
            event["project_priority"] = "standard"
        if full and key:
            event["project"] = {"project_name": key[0], "created_at": fmt(key[1])}
        elif full and r.project_id is not None:
            event["project"] = "Project not found."
        return event

    def _project(self, project_id: str) -> int | None:
        if project_id in ("", "none"):
            return None
        name = project_id.rsplit("#", 1)[0] if "#" in project_id else project_id
        return self.cal.project_id_by_name(name)

    def _owner(self, user: User, creator_id: str | None, creator: str | None) -> tuple[str, str]:
        if creator_id in (None, "", user.username):
            return user.username, user.label
        if not user.has_role(self.cal.admin_role):
            raise Forbidden("creator_id must be your own user name")
        return creator_id, creator or creator_id

    # -- writes --------------------------------------------------------------------------------
    def newevent(self, user: User, body: CompatEvent) -> dict[str, Any]:
        spec = ReservationIn(
            site=body.site, start=parse_time(body.start), end=parse_time(body.end),
            title=body.title or None, type=body.reservation_type,  # type: ignore[arg-type]
            note=body.reservation_note, project_id=self._project(body.project_id),
        )
        out = self.cal.create(
            user, spec, reservation_id=to_pk(body.event_id) if body.event_id else None,
            origin=body.origin.lower(), owner=self._owner(user, body.creator_id, body.creator),
        )
        return {"table_response": OK, "new_calendar_event": self.events([out])[0]}

    def modifyevent(self, user: User, body: CompatModify) -> dict[str, Any]:
        current = self.cal.get(user, to_pk(body.originalEvent.event_id))
        new = CompatEvent.model_validate({**self._event(current, {}, False), **{
            k: v for k, v in body.modifiedEvent.items() if v is not None}})
        if new.site != current.site:
            raise ValidationError("an event cannot move to another site")
        # like the original, event_id and creator are kept whatever modifiedEvent says
        original_modified = body.originalEvent.last_modified
        patch: dict[str, Any] = {
            "start": parse_time(new.start), "end": parse_time(new.end),
            "title": new.title or current.title, "type": new.reservation_type,
            "note": new.reservation_note,
        }
        if "project_id" in body.modifiedEvent:
            patch["project_id"] = self._project(new.project_id)
        if original_modified and original_modified != fmt(current.modified):
            raise Conflict("the event was changed since you loaded it; reload and retry")
        out = self.cal.modify(user, current.id, ReservationPatch(**patch), current.version)
        return {**OK, "modified_calendar_event": self.events([out])[0]}

    def delete(self, user: User, body: CompatEventKey) -> dict[str, Any]:
        self.cal.cancel(user, to_pk(body.event_id))
        return OK

    def add_projects_to_events(self, user: User, body: CompatProjects) -> list[dict[str, Any]]:
        pid = self._project(body.project_id)
        self.cal.set_project(user, [to_pk(e.event_id) for e in body.events], pid)
        return [OK for _ in body.events]

    def remove_project_from_events(self, user: User, body: CompatRemoveProject) -> str:
        self.cal.set_project(user, [to_pk(e) for e in body.events], None)
        return "Success"

    def remove_expired_lco_schedule(self, user: User, body: CompatExpired) -> dict[str, Any]:
        gone = self.cal.cancel_imported_after(user, body.site, parse_time(body.cutoff_time))
        ids = [e["project_id"] for e in self.events(gone)]
        return {"removed": len(gone), "project_ids": sorted({i for i in ids if i != "none"})}

    # -- reads ---------------------------------------------------------------------------------
    def siteevents(self, user: User, body: CompatWindow) -> list[dict[str, Any]]:
        rows = self.cal.list_reservations(user, body.site, parse_time(body.start),
                                          parse_time(body.end))
        return self.events(rows, full=body.full_project_details)

    def user_events_ending_after_time(self, user: User, body: CompatUserTime
                                      ) -> list[dict[str, Any]]:
        return self.events(self.cal.user_reservations(user, body.user_id, parse_time(body.time)))

    def get_event_at_time(self, user: User, body: CompatSiteTime) -> list[dict[str, Any]]:
        return self.events(self.cal.active_at(user, body.site, parse_time(body.time)))

    def is_user_scheduled(self, user: User, body: CompatUserSiteTime) -> bool:
        rows = self.cal.active_at(user, body.site, parse_time(body.time))
        return any(r.creator_id == body.user_id for r in rows)

    def does_conflicting_event_exist(self, user: User, body: CompatUserSiteTime) -> bool:
        rows = self.cal.active_at(user, body.site, parse_time(body.time))
        return any(r.creator_id != body.user_id for r in rows)


# endpoint name -> (body model, CalendarCompat method)
OPERATIONS: dict[str, tuple[type[BaseModel], str]] = {
    "newevent": (CompatEvent, "newevent"),
    "modifyevent": (CompatModify, "modifyevent"),
    "delete": (CompatEventKey, "delete"),
    "siteevents": (CompatWindow, "siteevents"),
    "add-projects-to-events": (CompatProjects, "add_projects_to_events"),
    "remove-project-from-events": (CompatRemoveProject, "remove_project_from_events"),
    "remove-expired-lco-schedule": (CompatExpired, "remove_expired_lco_schedule"),
    "user-events-ending-after-time": (CompatUserTime, "user_events_ending_after_time"),
    "get-event-at-time": (CompatSiteTime, "get_event_at_time"),
    "is-user-scheduled": (CompatUserSiteTime, "is_user_scheduled"),
    "does-conflicting-event-exist": (CompatUserSiteTime, "does_conflicting_event_exist"),
}
