"""The dashboards behind jupyter-server-proxy: Jupyter's login first, then panel's HTML."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_astro_ops.dashboards.identity import forwarded_headers, whoami
from jupyter_astro_ops.dashboards.proxy import PROXY_NAME, proxy_entry

from ..conftest import USERS

DASH = (*PROXY_NAME.split("/"),)


async def _get(jp_fetch: Any, *path: str, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"token {token}" if token else ""}
    try:
        resp = await jp_fetch(*path, headers=headers, follow_redirects=False,
                              request_timeout=90)
    except HTTPClientError as err:
        return err.code, err.response
    return resp.code, resp


async def test_no_login_is_refused(jp_fetch: Any) -> None:
    code, _ = await _get(jp_fetch, *DASH, "activity", token=None)
    assert code in (302, 403)


async def test_unknown_token_is_refused(jp_fetch: Any) -> None:
    code, _ = await _get(jp_fetch, *DASH, "activity", token="not-a-known-token")
    assert code in (302, 403)


async def test_mapped_token_gets_the_dashboard(jp_fetch: Any) -> None:
    code, resp = await _get(jp_fetch, *DASH, "activity", token=USERS["bob"][0])
    assert code == 200
    html = resp.body.decode()
    assert "<title>Astro Ops · Activity</title>" in html
    assert "cdn." not in html and "https://" not in html.split("<body")[0]
    code, resp = await _get(jp_fetch, f"{PROXY_NAME}/", token=USERS["bob"][0])
    assert code == 200 and "<title>Astro Ops · Overview</title>" in resp.body.decode()


async def test_launcher_tile(jp_fetch: Any) -> None:
    resp = await jp_fetch("server-proxy", "servers-info",
                          headers={"Authorization": f"token {USERS['carol'][0]}"})
    servers = {s["name"]: s for s in json.loads(resp.body)["server_processes"]}
    tile = servers[PROXY_NAME]["launcher_entry"]
    # hidden: the labextension's "Astro Ops" launcher section has one tile per dashboard
    assert tile["enabled"] is False and tile["title"] == "Astro Ops dashboards"
    assert tile["path_info"] == f"{PROXY_NAME}/"


@pytest.mark.parametrize("user", ["alice", "bob"])
async def test_whoami_uses_the_forwarded_login(jp_serverapp: Any, jp_fetch: Any,
                                               user: str) -> None:
    url, base = jp_serverapp.connection_url, jp_serverapp.base_url
    token, groups = USERS[user]
    headers = forwarded_headers({"Host": f"localhost:{jp_serverapp.port}"}, {},
                                {"token": [token.encode()]})
    identity = await whoami(url, base, headers)
    assert identity is not None
    assert identity["username"] == user and identity["groups"] == groups
    assert await whoami(url, base, {"Authorization": "token nope-nope-nope"}) is None
    assert await whoami(url, base, {}) is None


def test_proxy_entry_is_a_private_unix_socket_behind_the_prefix() -> None:
    entry = proxy_entry()
    assert entry["unix_socket"] is True and entry["absolute_url"] is True
    cmd = entry["command"](unix_socket="/tmp/x/socket", base_url="/astro/")
    assert cmd[cmd.index("--prefix") + 1] == "/astro/astro-ops/dash"
    assert cmd[cmd.index("--unix-socket") + 1] == "/tmp/x/socket"
    assert "--port" not in cmd and "--address" not in cmd
    env = entry["environment"]()
    assert env["ASTRO_OPS_RUNTIME_FILE"].endswith(".json")
