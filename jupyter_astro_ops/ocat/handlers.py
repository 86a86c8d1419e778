"""Ocat REST handlers under ``<base_url>astro-ops/api/v1/ocat/``.

Thin: parse with the pydantic models of ``schemas``, await ``OcatService`` / ``OcatRota``,
write JSON. Every state change is a POST (or DELETE for the rota's delete-and-merge), so a
cookie login needs the XSRF header; GETs never change anything. A revision is addressed by
its name, ``ocat/revisions/12345.002``; the answer carries its ``version`` as the ``ETag``,
and an ``If-Match`` header (or ``version`` in the body) makes the change conditional.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import web

from ..ical.handlers import IcsHandler
from ..web.base import AstroOpsHandler, api_path
from .rota import OcatRota
from .schemas import (
    REVISION_REF,
    BoardQuery,
    DiscardIn,
    ExpressIn,
    OcatImportIn,
    RevisionOut,
    RotaAssignIn,
    RotaMergeIn,
    RotaQuery,
    RotaSplitIn,
    RotaVersionIn,
    SignIn,
    SubmitIn,
    UndoIn,
    WithdrawIn,
)
from .service import OcatService

PERIOD = r"(?P<period_id>[0-9]{1,9})"


class OcatHandler(AstroOpsHandler):
    """Shared helpers of the Ocat handlers."""

    @property
    def ocat(self) -> OcatService:
        return self.services.ocat.service

    @property
    def rota(self) -> OcatRota:
        return self.services.ocat.rota

    def expected_version(self, version: int | None) -> int | None:
        """``version`` from the body, else from ``If-Match: "3"``."""
        return version if version is not None else self.if_match()

    def write_revision(self, out: RevisionOut, status: int = 200,
                       location: str | None = None) -> None:
        self.set_header("ETag", f'"{out.version}"')
        self.write_json(out, status, location=location)


class CatalogHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.call(self.ocat.catalog_out, self.astro_user))


class ObservationsHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.call(self.ocat.list_observations, self.astro_user))


class ObservationHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def get(self, obsid: str) -> None:
        self.write_json(await self.call(self.ocat.observation, self.astro_user, int(obsid)))


class RevisionsHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def get(self, obsid: str) -> None:
        self.write_json(await self.call(self.ocat.revisions_of, self.astro_user, int(obsid)))


class SubmitHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        spec = self.parse_body(SubmitIn)
        out = await self.call(self.ocat.submit, self.astro_user, spec)
        if out.revision is None:
            self.write_json(out)
            return
        self.write_json(out, 201, location=self.url_for_api(
            f"ocat/revisions/{out.revision.label}"))


class RevisionHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def get(self, obsid: str, rev: str) -> None:
        out = await self.call(self.ocat.revision, self.astro_user, int(obsid), int(rev))
        self.write_revision(out)


class SignHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def post(self, obsid: str, rev: str) -> None:
        spec = self.parse_body(SignIn)
        spec.version = self.expected_version(spec.version)
        self.write_revision(await self.call(self.ocat.sign, self.astro_user, int(obsid),
                                            int(rev), spec))


class UndoHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def post(self, obsid: str, rev: str) -> None:
        spec = self.parse_body(UndoIn)
        spec.version = self.expected_version(spec.version)
        self.write_revision(await self.call(self.ocat.undo, self.astro_user, int(obsid),
                                            int(rev), spec))


class DiscardHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def post(self, obsid: str, rev: str) -> None:
        spec = self.parse_body(DiscardIn)
        spec.version = self.expected_version(spec.version)
        self.write_revision(await self.call(self.ocat.discard, self.astro_user, int(obsid),
                                            int(rev), spec))


class WithdrawHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def post(self, obsid: str, rev: str) -> None:
        spec = self.parse_body(WithdrawIn)
        spec.version = self.expected_version(spec.version)
        self.write_revision(await self.call(self.ocat.withdraw, self.astro_user, int(obsid),
                                            int(rev), spec))


class BoardHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.parse_query(BoardQuery)
        self.write_json(await self.call(self.ocat.board, self.astro_user, query))


class ExpressHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        spec = self.parse_body(ExpressIn)
        self.write_json(await self.call(self.ocat.express, self.astro_user, spec))


class ImportsHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        spec = self.parse_body(OcatImportIn)
        importer = self.services.ocat.importer
        self.write_json(await self.call(importer.import_catalog, self.astro_user, None,
                                        force=spec.force))


class RotaHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.parse_query(RotaQuery)
        self.write_json(await self.call(self.rota.periods, self.astro_user, query.start,
                                        query.end))


class RotaCurrentHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.call(self.rota.current, self.astro_user))


class RotaPeriodHandler(OcatHandler):
    @web.authenticated
    @authorized
    async def delete(self, period_id: str) -> None:
        spec = RotaMergeIn.model_validate({
            "into": self.get_query_argument("into", "previous"),
            "version": self.expected_version(None)})
        await self.call(self.rota.merge, self.astro_user, int(period_id), spec.into,
                        spec.version)
        self.no_content()


class RotaActionHandler(OcatHandler):
    """``POST ocat/rota/<id>/signup|unlock`` (body ``{"version"}``)."""

    action = "signup"

    @web.authenticated
    @authorized
    async def post(self, period_id: str) -> None:
        spec = self.parse_body(RotaVersionIn)
        fn = self.rota.signup if self.action == "signup" else self.rota.unlock
        self.write_json(await self.call(fn, self.astro_user, int(period_id),
                                        self.expected_version(spec.version)))


class RotaUnlockHandler(RotaActionHandler):
    action = "unlock"


class RotaAssignHandler(OcatHandler):
    """``POST ocat/rota/<id>/assign`` (admin)."""

    @web.authenticated
    @authorized
    async def post(self, period_id: str) -> None:
        spec = self.parse_body(RotaAssignIn)
        self.write_json(await self.call(self.rota.assign, self.astro_user, int(period_id),
                                        spec.poc, self.expected_version(spec.version)))


class RotaSplitHandler(OcatHandler):
    """``POST ocat/rota/<id>/split``: both parts."""

    @web.authenticated
    @authorized
    async def post(self, period_id: str) -> None:
        spec = self.parse_body(RotaSplitIn)
        self.write_json(await self.call(self.rota.split, self.astro_user, int(period_id),
                                        spec.at, self.expected_version(spec.version)))


class RotaFeedHandler(IcsHandler):
    """``GET ocat/rota.ics`` (feed token or Jupyter login)."""

    @allow_unauthenticated
    async def get(self) -> None:
        user = await self.reader()
        self.write_feed(await self.call(self.services.ocat.rota_feed.feed, user))


REV = REVISION_REF
routes = [
    (api_path("ocat/parameters"), CatalogHandler),
    (api_path("ocat/observations"), ObservationsHandler),
    (api_path(r"ocat/observations/(?P<obsid>[0-9]{1,7})"), ObservationHandler),
    (api_path(r"ocat/observations/(?P<obsid>[0-9]{1,7})/revisions"), RevisionsHandler),
    (api_path("ocat/revisions"), SubmitHandler),
    (api_path(f"ocat/revisions/{REV}"), RevisionHandler),
    (api_path(f"ocat/revisions/{REV}/sign"), SignHandler),
    (api_path(f"ocat/revisions/{REV}/undo"), UndoHandler),
    (api_path(f"ocat/revisions/{REV}/discard"), DiscardHandler),
    (api_path(f"ocat/revisions/{REV}/withdraw"), WithdrawHandler),
    (api_path("ocat/board"), BoardHandler),
    (api_path("ocat/express"), ExpressHandler),
    (api_path("ocat/imports"), ImportsHandler),
    (api_path("ocat/rota"), RotaHandler),
    (api_path("ocat/rota/current"), RotaCurrentHandler),
    (api_path(r"ocat/rota\.ics"), RotaFeedHandler),
    (api_path(f"ocat/rota/{PERIOD}"), RotaPeriodHandler),
    (api_path(f"ocat/rota/{PERIOD}/signup"), RotaActionHandler),
    (api_path(f"ocat/rota/{PERIOD}/unlock"), RotaUnlockHandler),
    (api_path(f"ocat/rota/{PERIOD}/assign"), RotaAssignHandler),
    (api_path(f"ocat/rota/{PERIOD}/split"), RotaSplitHandler),
]
