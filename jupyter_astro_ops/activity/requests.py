"""Requests (MySlice ``REQ``): ask to create or join a project; PIs and admins decide.

Pipeline: ``create_request`` commits the event as ``NEW``, then ``route_request`` moves it to
``WAITING`` (the requester already holds the privilege) or ``PENDING`` (someone must decide).
``decide`` turns ``PENDING`` into ``APPROVED`` or ``DENIED``; the worker (``worker.py``) carries
out ``APPROVED``/``WAITING`` requests with ``carry_out``. Every status write is compare-and-set.
``Requests`` is handed the event log and the projects it works with.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.db import Database
from ..core.errors import Conflict, Forbidden, NotFound, ValidationError
from ..core.identity import User
from .convert import to_out
from .events import EventLog
from .models import ActivityEvent, ProjectMember
from .projects import Projects
from .schemas import DecisionIn, EventOut, RequestIn
from .states import Action, Status

OPEN = (Status.NEW, Status.PENDING, Status.APPROVED, Status.WAITING, Status.RUNNING)
KINDS = ("project.create", "project.join")


class Requests:
    """Project requests: ask, route, decide, carry out."""

    def __init__(self, db: Database, events: EventLog, projects: Projects) -> None:
        self.db = db
        self.events = events
        self.projects = projects

    # -- asking --------------------------------------------------------------------------------
    def create_request(self, user: User, req: RequestIn) -> EventOut:
        """``POST activity``: record the request as ``NEW``, then route it."""
        with self.db.write() as session:
            data = self._check_request(session, user, req)
            row = self.events.record(
                session, user, action=Action.REQ, object_type="PROJECT",
                object_id=str(data["project_id"]) if "project_id" in data else None,
                data=data, project_id=data.get("project_id"), status=Status.NEW,
                message=f"{user.username} requests {req.kind}"
                        + (f": {req.message}" if req.message else ""),
            )
            event_id = row.id
        # A crash right here leaves the event NEW; the worker's sweep routes it later.
        return self.route_request(event_id, user)

    def _check_request(self, session: Session, user: User, req: RequestIn) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": req.kind, "message": req.message}
        if req.kind == "project.join":
            if req.project_id is None:
                raise ValidationError("a project.join request needs a project_id")
            try:
                project = self.projects.load_project(session, req.project_id)
            except NotFound as exc:
                raise ValidationError(f"project {req.project_id} does not exist") from exc
            if self.projects.is_member(session, user.username, project.id):
                raise Conflict(f"{user.username} is already a member of {project.name!r}")
            if self._open_requests(session, user.username, project_id=project.id):
                raise Conflict(f"{user.username} already asked to join {project.name!r}")
            return {**data, "project_id": project.id, "name": project.name}
        if req.name is None:
            raise ValidationError("a project.create request needs a name")
        if self.projects.project_name_taken(session, req.name) or self._open_requests(
            session, None, name=req.name
        ):
            raise Conflict(f"a project named {req.name!r} exists or is already requested")
        return {**data, "name": req.name, "description": req.description}

    def _open_requests(
        self, session: Session, username: str | None, *, project_id: int | None = None,
        name: str | None = None,
    ) -> list[ActivityEvent]:
        stmt = select(ActivityEvent).where(
            ActivityEvent.action == Action.REQ.value, ActivityEvent.object_type == "PROJECT",
            ActivityEvent.status.in_([s.value for s in OPEN]),
            ActivityEvent.project_id == project_id if project_id is not None
            else ActivityEvent.project_id.is_(None),
        )
        if username is not None:
            stmt = stmt.where(ActivityEvent.username == username)
        rows = list(session.scalars(stmt))
        return [r for r in rows if name is None or (r.data or {}).get("name") == name]

    # -- routing -------------------------------------------------------------------------------
    def route_request(self, event_id: str, user: User | None = None) -> EventOut:
        """Move a ``NEW`` request to ``WAITING`` or ``PENDING`` (no-op once routed).

        ``user`` is the requester when known; the crash sweep passes ``None`` and can then only
        see privileges kept in the database (PI), so an admin's orphan request waits for a
        decision instead of being carried out unchecked.
        """
        with self.db.write() as session:
            row = session.get(ActivityEvent, event_id)
            if row is None:
                raise NotFound(f"no activity event {event_id}")
            if row.status == Status.NEW.value:
                if self.has_privilege(session, user or row.username, row):
                    self.events.transition(session, row, Status.WAITING,
                                    message="requester holds the privilege; queued")
                else:
                    self.events.transition(session, row, Status.PENDING,
                                    message="waiting for a decision by a PI or an admin")
            return to_out(row)

    def has_privilege(self, session: Session, who: User | str, row: ActivityEvent) -> bool:
        """May ``who`` carry out ``row`` without asking (admin; PI for a join)?"""
        if isinstance(who, User) and who.is_admin:
            return True
        username = who.username if isinstance(who, User) else who
        kind = (row.data or {}).get("kind")
        return (kind == "project.join" and row.project_id is not None
                and self.projects.is_pi(session, username, row.project_id))

    # -- deciding ------------------------------------------------------------------------------
    def pending_requests(self, user: User) -> list[EventOut]:
        """``GET requests``: PENDING requests ``user`` may decide (admins: all of them)."""
        stmt = select(ActivityEvent).where(
            ActivityEvent.action == Action.REQ.value, ActivityEvent.object_type == "PROJECT",
            ActivityEvent.status == Status.PENDING.value,
        )
        if not user.is_admin:  # PIs decide joins of their projects; creates need an admin
            led = select(ProjectMember.project_id).where(
                ProjectMember.username == user.username, ProjectMember.role == "pi")
            stmt = stmt.where(ActivityEvent.project_id.in_(led))
        with self.db.read() as session:
            return [to_out(r) for r in session.scalars(stmt.order_by(ActivityEvent.seq))]

    def decide(self, user: User, event_id: str, decision: DecisionIn) -> EventOut:
        """``PUT requests/<id>``: approve or deny a PENDING request (compare-and-set)."""
        with self.db.write() as session:
            row = self.events.load_visible(session, user, event_id)
            if row.action != Action.REQ.value or row.object_type != "PROJECT":
                raise NotFound(f"activity event {event_id} is not a request")
            if not self.may_decide(session, user, row):
                raise Forbidden(f"{user.username} may not decide this request")
            if row.status != Status.PENDING.value:
                raise Conflict(f"the request is {row.status}, not PENDING")
            verb = "approved" if decision.decision == "approve" else "denied"
            target = Status.APPROVED if verb == "approved" else Status.DENIED
            note = f"{verb} by {user.username}" + (f": {decision.message}"
                                                    if decision.message else "")
            self.events.transition(session, row, target, message=note, manager=user.username)
            return to_out(row)

    def may_decide(self, session: Session, user: User, row: ActivityEvent) -> bool:
        """Admins decide everything; a PI decides joins of a project they lead."""
        if user.is_admin:
            return True
        kind = (row.data or {}).get("kind")
        return (kind == "project.join" and row.project_id is not None
                and self.projects.is_pi(session, user.username, row.project_id))

    # -- carrying out (called by the worker inside its transaction) -----------------------------
    def carry_out(self, session: Session, row: ActivityEvent) -> str:
        """Perform an approved request in ``session``; returns the success log message.

        Raises a domain error (``Conflict`` ...) when the request can never succeed.
        """
        data = row.data or {}
        kind = data.get("kind")
        if kind == "project.create":
            project = self.projects.insert_project(session, row.username, str(data.get("name")),
                                          str(data.get("description", "")), row.username)
            row.project_id, row.object_id = project.id, str(project.id)
            return f"project {project.name!r} created with {row.username} as PI"
        if kind == "project.join" and row.project_id is not None:
            project = self.projects.load_project(session, row.project_id)
            if self.projects.is_member(session, row.username, project.id):
                raise Conflict(f"{row.username} is already a member of {project.name!r}")
            self.projects.put_member(session, project, row.username, "member")
            return f"{row.username} joined {project.name!r}"
        raise ValidationError(f"cannot carry out a request of kind {kind!r}")


__all__ = ["KINDS", "OPEN", "Requests"]
