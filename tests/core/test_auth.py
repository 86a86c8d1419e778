"""TokenMapIdentityProvider through a real server: tokens, the owner token, cookie logins."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from tests.conftest import USERS


async def _me(jp_fetch: Any, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"token {token}" if token is not None else ""}
    try:
        resp = await jp_fetch("api", "me", headers=headers)
    except HTTPClientError as err:
        return err.code, None
    return resp.code, json.loads(resp.body)


@pytest.mark.parametrize("name", sorted(USERS))
async def test_mapped_token_gives_that_user_with_groups(jp_fetch, name):
    token, groups = USERS[name]
    status, body = await _me(jp_fetch, token)
    assert status == 200
    identity = body["identity"]
    assert identity["username"] == name
    assert identity["display_name"] == name.title()
    assert identity["groups"] == groups


async def test_unknown_token_is_refused(jp_fetch):
    assert (await _me(jp_fetch, "not-a-mapped-token-at-all"))[0] == 403
    assert (await _me(jp_fetch, USERS["alice"][0] + "x"))[0] == 403


async def test_no_credentials_are_refused(jp_fetch):
    assert (await _me(jp_fetch, None))[0] == 403


async def test_server_owner_token_still_logs_in(jp_fetch, jp_serverapp):
    owner = jp_serverapp.identity_provider.token
    assert owner
    status, body = await _me(jp_fetch, owner)
    assert status == 200
    assert body["identity"]["username"] == "owner"
    assert body["identity"]["groups"] == []


async def test_extension_api_sees_the_mapped_user(api):
    status, _ = await api("bob", "GET", "openapi.json")
    assert status == 200
    status, _ = await api(None, "GET", "openapi.json")
    assert status == 403


def _cookies(resp: Any, jar: dict[str, str]) -> dict[str, str]:
    for header in resp.headers.get_list("Set-Cookie"):
        for key, morsel in SimpleCookie(header).items():
            jar[key] = morsel.value
    return jar


# http_server_client makes the server listen on jp_http_port for a plain HTTP client.
async def test_cookie_login_keeps_groups_from_the_map(
    http_server_client, jp_http_port, jp_base_url
):
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    client = AsyncHTTPClient()
    jar: dict[str, str] = {}
    page = await client.fetch(base + "login", raise_error=False)
    assert page.code == 200
    _cookies(page, jar)
    assert "_xsrf" in jar
    form = urlencode({"password": USERS["alice"][0], "_xsrf": jar["_xsrf"]})
    login = await client.fetch(
        base + "login", method="POST", body=form, follow_redirects=False, raise_error=False,
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())},
    )
    assert login.code == 302, login.body
    _cookies(login, jar)
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    me = await client.fetch(base + "api/me", headers={"Cookie": cookie}, raise_error=False)
    assert me.code == 200
    identity = json.loads(me.body)["identity"]
    assert identity["username"] == "alice"
    assert identity["groups"] == ["ops-leads"]


async def test_wrong_password_does_not_log_in(http_server_client, jp_http_port, jp_base_url):
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    client = AsyncHTTPClient()
    jar = _cookies(await client.fetch(base + "login", raise_error=False), {})
    form = urlencode({"password": "wrong-token-value", "_xsrf": jar["_xsrf"]})
    resp = await client.fetch(
        base + "login", method="POST", body=form, follow_redirects=False, raise_error=False,
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())},
    )
    _cookies(resp, jar)
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    me = await client.fetch(base + "api/me", headers={"Cookie": cookie}, raise_error=False)
    assert me.code == 403


def test_forged_cookie_value_grants_no_groups():
    from jupyter_astro_ops.auth import TokenMapIdentityProvider

    idp = TokenMapIdentityProvider(tokens={"tok-bob-00000002": {"username": "bob",
                                                                 "groups": ["arcops"]}})
    assert idp.user_from_cookie(json.dumps({"username": "bob", "groups": ["ops-leads"]})).groups \
        == ["arcops"]
    assert idp.user_from_cookie(json.dumps({"username": "mallory"})) is None
    assert idp.user_from_cookie("not json") is None


def test_short_tokens_are_rejected_by_config():
    from jupyter_astro_ops.auth import TokenMapIdentityProvider

    with pytest.raises(ValueError, match="at least 8"):
        TokenMapIdentityProvider(tokens={"short": {"username": "x"}})
