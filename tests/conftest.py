"""Shared fixtures: databases (SQLite and a real PostgreSQL), users, and a REST caller.

* ``db_url`` / ``db``: a migrated database, once on SQLite and once on PostgreSQL (the PG run
  is skipped only when the server binaries are missing and ``ASTRO_OPS_REQUIRE_PG`` is unset).
* ``jp_server_config``: the extension on a temp SQLite with ``TokenMapIdentityProvider`` users.
* ``api``: ``await api("bob", "POST", "activity", body={...})`` -> ``(status, json)``.
* ``make_services(db, config)``: every part, built by the composition root as the server does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from traitlets.config import Config, Configurable

from jupyter_astro_ops.compose import Services, build_services
from jupyter_astro_ops.core import migrate
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import RoleMap, User

from .pg import PgCluster

pytest_plugins = ["pytest_jupyter.jupyter_server"]

# user -> (token, groups); roles come from ROLES below
USERS: dict[str, tuple[str, list[str]]] = {
    "alice": ("tok-alice-000001", ["ops-leads"]),
    "bob": ("tok-bob-00000002", ["arcops"]),
    "carol": ("tok-carol-000003", []),
    "dave": ("tok-dave-0000004", []),
}
ROLES = {"admin": ["group:ops-leads"], "calendar_admin": ["dave"], "stager": ["bob", "carol"]}


# -- databases ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster | None]:
    try:
        cluster = PgCluster()
        cluster.start()
    except Exception as exc:
        if os.environ.get("ASTRO_OPS_REQUIRE_PG"):
            raise
        print(f"PostgreSQL unavailable, its tests will skip: {exc}")
        yield None
        return
    try:
        template = cluster.create_database()
        migrate.upgrade(cluster.url(template))
        cluster.template = template
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/astro.db"
        migrate.upgrade(url)
        yield url
        return
    cluster: PgCluster | None = request.getfixturevalue("pg_cluster")
    if cluster is None:
        pytest.skip("PostgreSQL not available")
    name = cluster.create_database(template=cluster.template)
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


def make_services(db: Database, config: dict[str, Any] | None = None,
                  root_dir: str | None = "") -> Services:
    """The parts of one process on ``db``, built by the composition root with ``config``
    (``{"StagingService": {"roots": ...}}``) and the test role map. ``root_dir=None`` builds
    the JupyterHub worker's parts (``c.JobStore.home_template``)."""
    return build_services(Configurable(config=Config(config or {})), db, roles=ROLES,
                          root_dir=root_dir)


@pytest.fixture
def role_map() -> RoleMap:
    return RoleMap(ROLES)


@pytest.fixture
def users(role_map: RoleMap) -> dict[str, User]:
    """``users["alice"]`` etc., resolved with the same roles as the REST tests."""
    return {name: role_map.resolve(name, name.title(), groups)
            for name, (_, groups) in USERS.items()}


# -- Jupyter server ----------------------------------------------------------------------------
@pytest.fixture
def astro_config(tmp_path: Any) -> dict[str, Any]:
    """Extra config merged into ``jp_server_config``; domain conftests extend it."""
    return {}


@pytest.fixture
def jp_server_config(jp_server_config: Any, tmp_path: Any, astro_config: dict[str, Any]) -> Any:
    cfg: dict[str, Any] = {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_astro_ops": True},
            "identity_provider_class": "jupyter_astro_ops.auth.TokenMapIdentityProvider",
        },
        "TokenMapIdentityProvider": {
            "tokens": {tok: {"username": u, "display_name": u.title(), "groups": g}
                       for u, (tok, g) in USERS.items()},
        },
        "AstroOpsApp": {"db_url": f"sqlite:///{tmp_path}/server.db", "roles": ROLES},
    }
    for section, values in astro_config.items():
        cfg.setdefault(section, {}).update(values)
    return cfg


@pytest.fixture
def api(jp_fetch: Any) -> Any:
    """Call the REST API as a named user (or ``None`` for no credentials)."""

    async def call(user: str | None, method: str, *path: str, body: Any = None,
                   params: dict[str, Any] | None = None, raw_body: bytes | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        hdrs = dict(headers or {})
        # jp_fetch adds the server owner's token unless Authorization is already set
        hdrs["Authorization"] = f"token {USERS[user][0]}" if user is not None else ""
        kwargs: dict[str, Any] = {"method": method, "headers": hdrs}
        if params:
            kwargs["params"] = params
        if method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = raw_body if raw_body is not None else json.dumps(body or {})
        elif method == "DELETE":
            kwargs["allow_nonstandard_methods"] = True
        route = ("astro-ops", "api", *path) if path and path[0] != "astro-ops" else path
        try:
            resp = await jp_fetch(*route, **kwargs)
        except HTTPClientError as err:
            resp = err.response
            if resp is None:
                raise
            return err.code, _json(resp.body)
        return resp.code, _json(resp.body)

    return call


def _json(body: bytes | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


# -- a gate in the staging copy path ----------------------------------------------------------
class CopyGate:
    """Holds every staging file copy after its first chunk until the job is cancelled."""

    def __init__(self) -> None:
        import threading

        self.started = threading.Event()  # some file has sent its first bytes


@pytest.fixture
def gated_copies(monkeypatch: pytest.MonkeyPatch) -> CopyGate:
    """Make "cancel a running job" deterministic: after its first chunk, each file copy waits
    (up to 30 s) until the job's own cancel check raises. If cancelling a running job did
    not work, the copy would go on after the wait and the job would succeed. Every file goes
    through ``Transfer`` (the small-file batches answer ``AGAIN``; ``test_batch`` covers
    cancelling those)."""
    import time

    from jupyter_astro_ops.staging import batch, jobs, workers

    def no_batches(b: batch.Batch, check: Any = None) -> list[batch.Result]:
        return [(batch.AGAIN, 0, "gated") for run in b.runs for _ in run.names]

    monkeypatch.setattr(jobs, "copy_batch", no_batches)
    monkeypatch.setattr(workers.CopyWorkers, "wanted", lambda self, files: False)

    gate = CopyGate()
    real = jobs.Transfer

    class GatedTransfer(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            inner, check = kwargs["on_bytes"], kwargs["check"]

            def on_bytes(n: int) -> None:
                inner(n)
                gate.started.set()
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    check()  # raises Cancelled once the runner has seen the cancel
                    time.sleep(0.01)

            super().__init__(**{**kwargs, "on_bytes": on_bytes})

    monkeypatch.setattr(jobs, "Transfer", GatedTransfer)
    return gate
