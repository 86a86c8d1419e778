"""Planner REST handlers under ``<base_url>astro-ops/api/v1/planner/``.

Thin: parse with the pydantic models of ``schemas``, ``await self.call(part.method,
self.astro_user, ...)``, write JSON; every rule (authorization included) is in the parts. The
iCal feed routes (``ical_handlers``) join the route table here, the one ``app.py`` reads.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core.errors import ValidationError
from ..web.base import AstroOpsHandler, api_path
from .ical_handlers import routes as feed_routes
from .import_schemas import PlannerImportIn
from .query_schemas import (
    EmployeesQuery,
    EntriesQuery,
    GridQuery,
    HolidayQuery,
    RangeQuery,
    SwapsQuery,
    WhereIsQuery,
)
from .schemas import EmployeeIn, EntryIn, EntryOut, EntryPatch, HolidayIn, SwapDecisionIn, SwapIn

EID = r"(?P<entry_id>[0-9a-f]{32})"
USER = r"(?P<username>[A-Za-z0-9_][A-Za-z0-9_.@\-]{0,127})"


class PlannerHandler(AstroOpsHandler):
    """Shared helpers of the planner handlers."""

    def if_match(self) -> int | None:
        """The version in an ``If-Match: "3"`` header (``None`` when absent)."""
        raw = self.request.headers.get("If-Match")
        if raw is None or raw.strip() == "*":
            return None
        tag = raw.strip().removeprefix("W/").strip('"')
        if not tag.isdigit() or len(tag) > 10:
            raise ValidationError(f"If-Match must be a version number, not {raw!r}")
        return int(tag)

    def write_entry(self, out: EntryOut) -> None:
        self.set_header("ETag", f'"{out.version}"')
        self.write_json(out)


class SettingsHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        planner = self.services.planner.service
        self.write_json(await self.call(planner.settings, self.astro_user))


class GridHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.parse_query(GridQuery)
        planner = self.services.planner.service
        self.write_json(await self.call(planner.grid_json, self.astro_user, q.start, q.end,
                                        q.department, q.location, q.role, q.user))


class EntriesHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.parse_query(EntriesQuery)
        planner = self.services.planner.service
        self.write_json(await self.call(planner.entries_json, self.astro_user, q.start, q.end,
                                        q.user, q.department))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        spec = self.parse_body(EntryIn)
        user = self.astro_user
        out = await self.call(self.services.planner.service.create_entries, user, spec)
        query = urlencode({"start": out[0].day.isoformat(), "end": out[-1].day.isoformat(),
                           "user": out[0].username})
        self.write_json(out, 201, location=self.url_for_api(f"planner/entries?{query}"))


class EntryHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def get(self, entry_id: str) -> None:
        planner = self.services.planner.service
        self.write_entry(await self.call(planner.get_entry, self.astro_user, entry_id))

    @web.authenticated
    @authorized
    async def patch(self, entry_id: str) -> None:
        patch = self.parse_body(EntryPatch)
        planner = self.services.planner.service
        self.write_entry(await self.call(planner.modify_entry, self.astro_user, entry_id,
                                         patch, self.if_match()))

    @web.authenticated
    @authorized
    async def delete(self, entry_id: str) -> None:
        planner = self.services.planner.service
        await self.call(planner.delete_entry, self.astro_user, entry_id, self.if_match())
        self.no_content()


class EmployeesHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.parse_query(EmployeesQuery)
        employees = self.services.planner.employees
        self.write_json(await self.call(employees.list_employees, self.astro_user,
                                        q.department, q.include_inactive))


class EmployeeHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def get(self, username: str) -> None:
        employees = self.services.planner.employees
        out = await self.call(employees.get_employee, self.astro_user, username)
        self.set_header("ETag", f'"{out.version}"')
        self.write_json(out)

    @web.authenticated
    @authorized
    async def put(self, username: str) -> None:
        spec = self.parse_body(EmployeeIn)
        employees = self.services.planner.employees
        out, created = await self.call(employees.save_employee, self.astro_user, username,
                                       spec, self.if_match())
        self.set_header("ETag", f'"{out.version}"')
        where = self.url_for_api(f"planner/employees/{quote(username)}")
        self.write_json(out, 201 if created else 200, location=where if created else None)


class SyncHandler(PlannerHandler):
    """``POST planner/employees/sync``: re-sync the configured directory now (admins)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        employees = self.services.planner.employees
        self.write_json(await self.call(employees.sync, self.astro_user))


class WhereIsHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.parse_query(WhereIsQuery)
        planner = self.services.planner.service
        self.write_json(await self.call(planner.whereis, self.astro_user, q.user, q.at))


class CoverageHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.parse_query(RangeQuery)
        planner = self.services.planner.service
        self.write_json(await self.call(planner.coverage_json, self.astro_user, q.start, q.end))


class HolidaysHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.parse_query(HolidayQuery)
        holidays = self.services.planner.holidays
        first, last = self.services.planner.service.read_range(q.start, q.end)
        self.write_json(await self.call(holidays.list_holidays, self.astro_user, first, last,
                                        q.calendar))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        spec = self.parse_body(HolidayIn)
        holidays = self.services.planner.holidays
        out = await self.call(holidays.add_holiday, self.astro_user, spec)
        self.write_json(out, 201, location=self.url_for_api(f"planner/holidays/{out.id}"))


class HolidayHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def delete(self, holiday_id: str) -> None:
        holidays = self.services.planner.holidays
        await self.call(holidays.delete_holiday, self.astro_user, int(holiday_id))
        self.no_content()


class SwapsHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.parse_query(SwapsQuery)
        swaps = self.services.planner.swaps
        self.write_json(await self.call(swaps.list_swaps, self.astro_user, q.all, q.open))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        spec = self.parse_body(SwapIn)
        swaps = self.services.planner.swaps
        out = await self.call(swaps.ask, self.astro_user, spec)
        self.write_json(out, 201, location=self.url_for_api(f"planner/swaps/{out.id}"))


class SwapHandler(PlannerHandler):
    @web.authenticated
    @authorized
    async def get(self, swap_id: str) -> None:
        swaps = self.services.planner.swaps
        self.write_json(await self.call(swaps.get_swap, self.astro_user, swap_id))

    @web.authenticated
    @authorized
    async def put(self, swap_id: str) -> None:
        spec = self.parse_body(SwapDecisionIn)
        swaps = self.services.planner.swaps
        self.write_json(await self.call(swaps.decide, self.astro_user, swap_id, spec))


class ImportsHandler(PlannerHandler):
    """``GET planner/imports``: the last run of each import."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        importer = self.services.planner.importer
        self.write_json(await self.call(importer.status, self.astro_user))


class ImportRunHandler(PlannerHandler):
    """``POST planner/imports/<name>``: run the configured source now (planner admins)."""

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        body = self.parse_body(PlannerImportIn)
        importer = self.services.planner.importer
        self.write_json(await self.call(importer.run_configured, self.astro_user, name,
                                        dry_run=body.dry_run, force=body.force))


routes = [
    (api_path("planner/settings"), SettingsHandler),
    (api_path("planner/grid"), GridHandler),
    (api_path("planner/entries"), EntriesHandler),
    (api_path(f"planner/entries/{EID}"), EntryHandler),
    (api_path("planner/employees"), EmployeesHandler),
    (api_path("planner/employees/sync"), SyncHandler),
    (api_path(f"planner/employees/{USER}"), EmployeeHandler),
    (api_path("planner/whereis"), WhereIsHandler),
    (api_path("planner/coverage"), CoverageHandler),
    (api_path("planner/holidays"), HolidaysHandler),
    (api_path(r"planner/holidays/(?P<holiday_id>[0-9]{1,9})"), HolidayHandler),
    (api_path("planner/swaps"), SwapsHandler),
    (api_path(r"planner/swaps/(?P<swap_id>[0-9a-f]{32})"), SwapHandler),
    (api_path("planner/imports"), ImportsHandler),
    (api_path(r"planner/imports/(?P<name>[a-z]{1,16})"), ImportRunHandler),
    *feed_routes,
]
