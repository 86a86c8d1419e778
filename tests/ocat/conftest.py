"""Ocat fixtures: the parts on the ``db`` fixture (SQLite and PostgreSQL), a small synthetic
catalog, users in every group, a settable clock, and a REST caller with Ocat users."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config, Configurable

from jupyter_astro_ops.compose import OcatParts, Services, build_services
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import RoleMap, User
from jupyter_astro_ops.ocat.schemas import SubmitIn
from jupyter_astro_ops.ocat.service import OcatService
from jupyter_astro_ops.ocat.synthetic import synthetic_catalog

T0 = datetime(2030, 3, 4, 12, 0, tzinfo=timezone.utc)  # a Monday
# user -> (token, groups)
OCAT_USERS: dict[str, tuple[str, list[str]]] = {
    "pocone": ("tok-ocat-pocone-01", ["usint"]),
    "poctwo": ("tok-ocat-poctwo-02", ["usint"]),
    "arc": ("tok-ocat-arc-00003", ["arcops"]),
    "acisguy": ("tok-ocat-acis-0004", ["acis"]),
    "hrcguy": ("tok-ocat-hrc-00005", ["hrc"]),
    "root": ("tok-ocat-root-0006", ["ops-leads"]),
    "nobody": ("tok-ocat-nobody-07", []),
}
OCAT_ROLES = {"admin": ["group:ops-leads"], "usint": ["group:usint"],
              "arcops": ["group:arcops", "arcmail"], "acis": ["group:acis"],
              "hrc": ["group:hrc"], "mp": ["mpone"], "cdo": ["cdoone"]}


class Clock:
    """A settable clock handed to the parts whose rules depend on time."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def ocat_services(db: Database, config: dict[str, Any] | None = None) -> Services:
    return build_services(Configurable(config=Config(config or {})), db, roles=OCAT_ROLES)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def services(db: Database, clock: Clock) -> Services:
    services = ocat_services(db, {"Mailer": {"from_address": "ocat@cxc.example"}})
    for part in (services.ocat.service, services.ocat.rota, services.ocat.notifier,
                 services.ocat.importer, services.ocat.mailer):
        part.clock = clock
    return services


@pytest.fixture
def ocat(services: Services) -> OcatParts:
    return services.ocat


@pytest.fixture
def svc(ocat: OcatParts) -> OcatService:
    return ocat.service


@pytest.fixture
def who() -> dict[str, User]:
    roles = RoleMap(OCAT_ROLES)
    return {name: roles.resolve(name, name.title(), groups)
            for name, (_, groups) in OCAT_USERS.items()}


def record(obsid: int, **values: Any) -> dict[str, Any]:
    """One catalog record (an ACIS-S GO observation unless told otherwise)."""
    base: dict[str, Any] = {
        "obsid": obsid, "seq_nbr": f"9{obsid:05d}", "target_name": f"Target {obsid}",
        "instrument": "ACIS-S", "grating": "NONE", "obs_type": "GO", "status": "unobserved",
        "poc": "pocone", "planned_date": (T0 + timedelta(days=60)).isoformat(),
        "ra": 83.633, "dec": 22.0145, "roll_obsr": 100.0, "most_efficient": "Y",
        "si_mode": "TE_0001", "exp_mode": "TE", "bep_pack": "F", "subarray": "NONE",
        "spwindow_flag": "N", "eventfilter": "N", "dither_flag": "N", "window_flag": "N",
        "roll_flag": "N", "phase_constraint_flag": "N", "duty_cycle": "N",
    }
    base.update(values)
    if base["instrument"].startswith("HRC"):
        for key in ("most_efficient", "si_mode", "exp_mode", "bep_pack", "subarray",
                    "spwindow_flag", "eventfilter", "duty_cycle"):
            base.pop(key, None)
    return {k: v for k, v in base.items() if v is not None}


CATALOG = [
    record(1001),                                                   # ACIS-S GO, pocone
    record(1002, instrument="HRC-I", hrc_si_mode="DEFAULT"),        # HRC-I
    record(1003, instrument="HRC-S"),                               # HRC without SI mode
    record(1004, obs_type="TOO", poc="poctwo"),                     # TOO, poctwo
    record(1005, status="observed"),
    record(1006, status="canceled"),
    record(1007, si_mode=None),                                     # ACIS without SI mode
    record(1008, status="scheduled", planned_date=(T0 + timedelta(days=3)).isoformat(),
           or_list="Y"),
    record(1009, status="untriggered", obs_type="DDT"),
    record(1010, status="archived"),
]


@pytest.fixture
def loaded(ocat: OcatParts, who: dict[str, User]) -> OcatParts:
    """The parts with ``CATALOG`` imported."""
    ocat.importer.apply(who["root"], "test-catalog", [dict(r) for r in CATALOG])
    return ocat


@pytest.fixture
def submit(loaded: OcatParts, who: dict[str, User]) -> Callable[..., Any]:
    def _submit(user: str, obsid: int, changes: dict[str, Any] | None = None,
                kind: str = "norm", comment: str = "", dry_run: bool = False) -> Any:
        spec = SubmitIn(obsid=obsid, kind=kind, changes=changes or {}, comment=comment,
                        dry_run=dry_run)
        return loaded.service.submit(who[user], spec)
    return _submit


@pytest.fixture
def synthetic() -> list[dict[str, Any]]:
    return synthetic_catalog(60, now=T0)


# -- REST ----------------------------------------------------------------------------------------
@pytest.fixture
def astro_config(tmp_path: Any) -> dict[str, Any]:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"observations": CATALOG}))
    return {
        "TokenMapIdentityProvider": {"tokens": {
            tok: {"username": u, "display_name": u.title(), "groups": g}
            for u, (tok, g) in OCAT_USERS.items()}},
        "AstroOpsApp": {"db_url": f"sqlite:///{tmp_path}/server.db", "roles": OCAT_ROLES,
                        "run_background": False},
        "OcatImporter": {"source": catalog.as_uri()},
    }


@pytest.fixture
def ocat_api(jp_fetch: Any) -> Any:
    """``await ocat_api("pocone", "POST", "revisions", body=...)`` -> (status, json, headers)."""

    async def call(user: str | None, method: str, *path: str, body: Any = None,
                   params: dict[str, Any] | None = None, raw_body: bytes | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
        hdrs = dict(headers or {})
        hdrs["Authorization"] = f"token {OCAT_USERS[user][0]}" if user else ""
        kwargs: dict[str, Any] = {"method": method, "headers": hdrs}
        if params:
            kwargs["params"] = params
        if method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = raw_body if raw_body is not None else json.dumps(body or {})
        elif method == "DELETE":
            kwargs["allow_nonstandard_methods"] = True
        try:
            resp = await jp_fetch("astro-ops", "api", "v1", "ocat", *path, **kwargs)
        except HTTPClientError as err:
            if err.response is None:
                raise
            resp = err.response
        text = resp.body.decode("utf-8", "replace") if resp.body else ""
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = text
        return resp.code, data, resp.headers

    return call
