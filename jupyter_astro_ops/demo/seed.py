"""Seed the demo database through the services (never raw SQL), idempotently.

Each step first looks for what it would create; a ``Conflict`` from a service means the thing
is already there (a request already sent, a slot already booked), which is the wanted state.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from traitlets.config import Config, Configurable

from ..activity.projects import Projects
from ..activity.requests import Requests
from ..activity.schemas import RequestIn
from ..calendar.schemas import ReservationIn
from ..calendar.service import CalendarService
from ..compose import build_services
from ..core import migrate
from ..core.db import Database
from ..core.errors import Conflict
from ..core.identity import RoleMap, User
from ..core.timeutil import utcnow
from .ocat import OCAT_CONFIG, seed_ocat
from .planner import seed_planner


def demo_users(spec: dict[str, Any]) -> dict[str, User]:
    """The demo users with the roles the demo config gives them."""
    roles = RoleMap(spec["roles"])
    return {name: roles.resolve(name, info["display_name"], info.get("groups", []))
            for name, info in spec["users"].items()}


def seed(db_url: str, spec: dict[str, Any]) -> list[str]:
    """Migrate ``db_url`` and create the demo data; returns what was done, one line per step."""
    migrate.upgrade(db_url)
    db = Database(db_url)
    try:
        config = Configurable(config=Config({"CalendarService": {"sites": spec["sites"]},
                                             **spec.get(OCAT_CONFIG, {})}))
        services = build_services(config, db, roles=spec["roles"])
        projects, cal = services.activity.projects, services.calendar.service
        users = demo_users(spec)
        done = _projects(projects, users, spec["projects"])
        done += _requests(services.activity.requests, projects, users, spec["requests"])
        done += _reservations(projects, cal, users, spec["reservations"])
        done += seed_planner(services, users)
        done += seed_ocat(services, users, spec)
        return done
    finally:
        db.dispose()


def _admin(users: dict[str, User]) -> User:
    return next(u for u in users.values() if u.is_admin)


def _project_ids(act: Projects, admin: User) -> dict[str, int]:
    return {p.name: p.id for p in act.list_projects(admin)}


def _projects(act: Projects, users: dict[str, User], projects: list[dict[str, Any]]
              ) -> list[str]:
    admin, done = _admin(users), []
    for item in projects:
        existing = {p.name: p for p in act.list_projects(admin)}
        project = existing.get(item["name"])
        if project is None:
            project = act.create_project(admin, item["name"], item["description"], pi=item["pi"])
            done.append(f"project {project.name!r} (PI {item['pi']})")
        members = {m.username for m in project.members}
        for username, role in item["members"].items():
            if username not in members:
                act.add_member(admin, project.id, username, role)
                done.append(f"{username} joins {project.name!r} as {role}")
    return done


def _requests(act: Requests, projects: Projects, users: dict[str, User],
              requests: list[dict[str, Any]]) -> list[str]:
    ids, done = _project_ids(projects, _admin(users)), []
    for item in requests:
        req = RequestIn(kind=item["kind"], project_id=ids.get(item.get("project", "")),
                        name=item.get("name"), description=item.get("description", ""),
                        message=item.get("message", ""))
        try:
            event = act.create_request(users[item["user"]], req)
        except Conflict:
            continue  # already requested (or already done): nothing to add
        done.append(f"{item['user']} requests {item['kind']} -> {event.status.value}")
    return done


def _reservations(act: Projects, cal: CalendarService, users: dict[str, User],
                  bookings: list[dict[str, Any]]) -> list[str]:
    ids, done = _project_ids(act, _admin(users)), []
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    for item in bookings:
        user = users[item["user"]]
        start = today + timedelta(days=item["day"], hours=item["hour"])
        end = start + timedelta(hours=item["hours"])
        if _already_booked(cal, user, item["site"], start, end):
            continue
        spec = ReservationIn(site=item["site"], start=start, end=end, type=item["type"],
                             note=item.get("note", ""),
                             project_id=ids.get(item.get("project", "")))
        try:
            cal.create(user, spec)
        except Conflict:
            continue  # the slot is taken (an earlier demo run booked around it)
        done.append(f"{user.username} books {item['site']} {start:%Y-%m-%d %H:%M}Z")
    return done


def _already_booked(cal: CalendarService, user: User, site: str, start: datetime,
                    end: datetime) -> bool:
    window = cal.list_reservations(user, site, start, end)
    return any(r.creator_id == user.username and r.start == start.astimezone(timezone.utc)
               for r in window)
