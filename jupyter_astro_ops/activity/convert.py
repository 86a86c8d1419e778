"""Row -> wire conversion for the activity domain (ORM rows never leave the package's services)."""

from __future__ import annotations

from .models import ActivityEvent, Project
from .schemas import EventOut, MemberOut, ObjectRef, ProjectOut
from .states import Action, Status


def to_out(row: ActivityEvent) -> EventOut:
    """Convert an event row to its wire model."""
    return EventOut(
        id=row.id, seq=row.seq, action=Action(row.action),
        object=ObjectRef(type=row.object_type, id=row.object_id), user=row.username,
        user_name=row.user_name or "",
        project_id=row.project_id, status=Status(row.status),
        previous_status=Status(row.previous_status) if row.previous_status else None,
        manager=row.manager, data=row.data or {},
        log=row.log or [],  # type: ignore[arg-type]  # dicts, validated into LogEntry
        version=row.version,
        created=row.created, updated=row.updated,
    )


def project_out(row: Project) -> ProjectOut:
    """Convert a project row (with its members) to its wire model."""
    members = sorted(row.members, key=lambda m: (m.role != "pi", m.username))
    return ProjectOut(
        id=row.id, name=row.name, description=row.description, created_by=row.created_by,
        created=row.created,
        members=[MemberOut(username=m.username, role=m.role) for m in members],  # type: ignore[arg-type]
    )
