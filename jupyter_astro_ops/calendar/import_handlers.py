"""REST glue of the LCO schedule imports: ``GET calendar/imports``, ``POST .../imports/<site>``.

Only configured sources can be run (``c.LcoImporter.sources``), by calendar admins: no caller
can make the server read an arbitrary URL.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..web.base import AstroOpsHandler, api_path
from .lco.schemas import ImportRunIn
from .schemas import SITE_CODE_BODY

SITE = f"(?P<site>{SITE_CODE_BODY})"


class ImportsHandler(AstroOpsHandler):
    """``GET calendar/imports``: the last schedule imported per site."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        importer = self.services.calendar.importer
        self.write_json(await self.call(importer.status, self.astro_user))


class ImportRunHandler(AstroOpsHandler):
    """``POST calendar/imports/<site>``: run the site's configured import now (admins)."""

    @web.authenticated
    @authorized
    async def post(self, site: str) -> None:
        body = self.parse_body(ImportRunIn)
        importer = self.services.calendar.importer
        summary = await self.call(importer.run_site, self.astro_user, site,
                                  dry_run=body.dry_run, force=body.force)
        self.write_json(summary)


routes = [
    (api_path(r"calendar/imports"), ImportsHandler),
    (api_path(f"calendar/imports/{SITE}"), ImportRunHandler),
]
