"""Projects and memberships: the activity part that owns the two tables.

Projects are real rows (MySlice kept them in a remote registry and matched URN prefixes to
decide privileges). Every change is recorded as a ``PROJECT`` event in the same transaction,
through the ``EventLog`` handed in. Other domains ask this class about projects (membership,
names) instead of reading its rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.db import Database
from ..core.errors import Conflict, Forbidden, NotFound, ValidationError
from ..core.identity import User
from .convert import project_out
from .events import EventLog
from .models import Project, ProjectMember
from .schemas import ProjectOut
from .states import Status

ROLES = ("pi", "member")


class Projects:
    """Project and membership rules; every change is an activity event."""

    def __init__(self, db: Database, events: EventLog) -> None:
        self.db = db
        self.events = events

    # -- membership tests (inside a caller's session) ------------------------------------------
    def is_member(self, session: Session, username: str, project_id: int) -> bool:
        """True if ``username`` belongs to the project (a PI counts as a member)."""
        return bool(session.scalar(select(exists().where(
            ProjectMember.project_id == project_id, ProjectMember.username == username))))

    def is_pi(self, session: Session, username: str, project_id: int) -> bool:
        """True if ``username`` is a PI of the project."""
        return bool(session.scalar(select(exists().where(
            ProjectMember.project_id == project_id, ProjectMember.username == username,
            ProjectMember.role == "pi"))))

    def exists(self, session: Session, project_id: int) -> bool:
        """True if the project exists."""
        return session.get(Project, project_id) is not None

    def names(self, project_ids: set[int]) -> dict[int, tuple[str, datetime]]:
        """``{id: (name, created)}`` of the given projects (missing ones are left out)."""
        if not project_ids:
            return {}
        with self.db.read() as session:
            rows = session.execute(select(Project.id, Project.name, Project.created)
                                   .where(Project.id.in_(project_ids)))
            return {pid: (name, created) for pid, name, created in rows}

    def id_by_name(self, name: str) -> int:
        """The id of the project called ``name`` (400 if there is none)."""
        with self.db.read() as session:
            pid = session.scalar(select(Project.id).where(Project.name == name))
        if pid is None:
            raise ValidationError(f"no project named {name!r}")
        return int(pid)

    # -- reading -------------------------------------------------------------------------------
    def list_projects(self, user: User) -> list[ProjectOut]:
        """Every project with its members (any logged-in user may browse them)."""
        with self.db.read() as session:
            rows = session.scalars(select(Project).order_by(Project.name))
            return [project_out(r) for r in rows]

    def get_project(self, user: User, project_id: int) -> ProjectOut:
        """One project with its members; ``NotFound`` if it does not exist."""
        with self.db.read() as session:
            return project_out(self.load_project(session, project_id))

    def load_project(self, session: Session, project_id: int) -> Project:
        row = session.get(Project, project_id)
        if row is None:
            raise NotFound(f"no project {project_id}")
        return row

    # -- writing -------------------------------------------------------------------------------
    def create_project(
        self, user: User, name: str, description: str = "", pi: str | None = None
    ) -> ProjectOut:
        """Create a project directly (admin only); ``pi`` defaults to the creator."""
        if not user.is_admin:
            raise Forbidden(f"{user.username} may not create projects (admin only); "
                            "send a project.create request instead")
        with self.db.write() as session:
            row = self.insert_project(session, user.username, name, description,
                                      pi or user.username)
            self.events.record(session, user, action="ADD", object_type="PROJECT",
                        object_id=str(row.id), project_id=row.id, status=Status.SUCCESS,
                        data={"name": name, "pi": pi or user.username},
                        message=f"project {name!r} created by {user.username}")
            return project_out(row)

    def insert_project(
        self, session: Session, created_by: str, name: str, description: str, pi: str
    ) -> Project:
        """Insert a project and its PI in ``session`` (``Conflict`` if the name is taken)."""
        if self.project_name_taken(session, name):
            raise Conflict(f"a project named {name!r} already exists")
        row = Project(name=name, description=description, created_by=created_by)
        row.members.append(ProjectMember(username=pi, role="pi"))
        session.add(row)
        try:
            session.flush()
        except IntegrityError as exc:  # a concurrent creator won the unique name
            raise Conflict(f"a project named {name!r} already exists") from exc
        return row

    def project_name_taken(self, session: Session, name: str) -> bool:
        return bool(session.scalar(select(exists().where(Project.name == name))))

    def add_member(
        self, user: User, project_id: int, username: str, role: str = "member"
    ) -> ProjectOut:
        """Add ``username`` to the project, or change their role (the project's PI or admin)."""
        if role not in ROLES:
            raise ValidationError(f"unknown project role {role!r}; use one of {ROLES}")
        with self.db.write() as session:
            row = self.load_project(session, project_id)
            if not (user.is_admin or self.is_pi(session, user.username, project_id)):
                raise Forbidden(f"only a PI of project {row.name!r} or an admin may add members")
            self.put_member(session, row, username, role)
            self.events.record(session, user, action="ADD", object_type="PROJECT",
                        object_id=str(project_id), project_id=project_id, status=Status.SUCCESS,
                        data={"member": username, "role": role},
                        message=f"{username} added to {row.name!r} as {role} by {user.username}")
            session.flush()
            session.refresh(row)
            return project_out(row)

    def put_member(self, session: Session, project: Project, username: str, role: str) -> None:
        """Insert a membership, or update the role of an existing one."""
        current = session.get(ProjectMember, (project.id, username))
        if current is None:
            session.add(ProjectMember(project_id=project.id, username=username, role=role))
        else:
            current.role = role
        session.flush()


__all__ = ["ROLES", "Projects"]
