"""Activity REST handlers (thin: parse, call the service in a thread, write JSON).

Routes under ``<base_url>astro-ops/api/v1/``: ``activity``, ``activity/<id>``, ``requests``,
``requests/<id>``, ``projects``, ``projects/<id>``, ``projects/<id>/members``; the websocket
``live`` is in ``live.py``.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..compose import ActivityParts
from ..web.base import AstroOpsHandler, api_path
from .live import LiveHandler
from .pagecache import Page
from .schemas import DecisionIn, EventFilter, MemberIn, ProjectIn, RequestIn

EVENT_ID = r"(?P<event_id>[0-9a-f]{32})"
PROJECT_ID = r"(?P<project_id>[0-9]{1,9})"
FILTER_LISTS = ("status", "action", "object_type")


class ActivityBase(AstroOpsHandler):
    @property
    def activity(self) -> ActivityParts:
        return self.services.activity


class EventsHandler(ActivityBase):
    """``GET activity`` (filtered list) and ``POST activity`` (a request)."""

    _page: Page | None = None

    @web.authenticated
    @authorized
    async def get(self) -> None:
        flt = self.parse_query(EventFilter, lists=FILTER_LISTS)
        user = self.astro_user
        # a cached page is served on the loop; only a miss goes to a thread (and the database)
        page = self.activity.pages.cached(user, flt)
        if page is None:
            page = await self.call(self.activity.pages.list_events, user, flt)
        self._page = page if isinstance(page, Page) else None
        self.write_json(page)

    def compute_etag(self) -> str | None:
        """A page's ETag is hashed once per page, not once per answer (same value)."""
        return self._page.etag() if self._page is not None else super().compute_etag()

    @web.authenticated
    @authorized
    async def post(self) -> None:
        req = self.parse_body(RequestIn)
        event = await self.call(self.activity.requests.create_request, self.astro_user, req)
        self.write_json(event, 201, location=self.url_for_api(f"activity/{event.id}"))


class EventHandler(ActivityBase):
    """``GET activity/<id>``."""

    @web.authenticated
    @authorized
    async def get(self, event_id: str) -> None:
        self.write_json(await self.call(self.activity.events.get_event, self.astro_user, event_id))


class RequestsHandler(ActivityBase):
    """``GET requests``: pending requests the caller may decide."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.call(self.activity.requests.pending_requests, self.astro_user))


class RequestHandler(ActivityBase):
    """``PUT requests/<id>``: approve or deny."""

    @web.authenticated
    @authorized
    async def put(self, event_id: str) -> None:
        decision = self.parse_body(DecisionIn)
        self.write_json(await self.call(self.activity.requests.decide, self.astro_user, event_id,
                                        decision))


class ProjectsHandler(ActivityBase):
    """``GET projects`` and ``POST projects`` (admin)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.call(self.activity.projects.list_projects, self.astro_user))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(ProjectIn)
        project = await self.call(self.activity.projects.create_project, self.astro_user,
                                  body.name, body.description, body.pi)
        self.write_json(project, 201, location=self.url_for_api(f"projects/{project.id}"))


class ProjectHandler(ActivityBase):
    """``GET projects/<id>``."""

    @web.authenticated
    @authorized
    async def get(self, project_id: str) -> None:
        self.write_json(await self.call(self.activity.projects.get_project, self.astro_user,
                                        int(project_id)))


class MembersHandler(ActivityBase):
    """``POST projects/<id>/members`` (a PI of the project, or an admin)."""

    @web.authenticated
    @authorized
    async def post(self, project_id: str) -> None:
        body = self.parse_body(MemberIn)
        project = await self.call(self.activity.projects.add_member, self.astro_user,
                                  int(project_id), body.username, body.role)
        self.write_json(project, 201, location=self.url_for_api(f"projects/{project.id}"))


routes = [
    (api_path("activity"), EventsHandler),
    (api_path(f"activity/{EVENT_ID}"), EventHandler),
    (api_path("requests"), RequestsHandler),
    (api_path(f"requests/{EVENT_ID}"), RequestHandler),
    (api_path("projects"), ProjectsHandler),
    (api_path(f"projects/{PROJECT_ID}"), ProjectHandler),
    (api_path(f"projects/{PROJECT_ID}/members"), MembersHandler),
    (api_path("live"), LiveHandler),
]
