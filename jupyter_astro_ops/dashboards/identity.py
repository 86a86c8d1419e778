"""Who is looking at this dashboard session.

Behind jupyter-server-proxy the browser's request reached ``panel serve`` with the Jupyter login
it carried (cookie, ``Authorization`` header or ``?token=``). We ask the Jupyter server's
``GET <base_url>api/me`` with exactly those credentials (and the original ``Host``, since
Jupyter's login cookie is named after it) and resolve roles with the shared ``RoleMap``. The
server's owner is never assumed: several users may share one server.

As the JupyterHub service, the user is the Hub user of the session's OAuth cookie, with the
Hub's groups (``hub_auth.session_identity``).

Standalone, the user is Panel's authenticated user (``--oauth-provider`` / ``--basic-auth``);
with no login at all there is no user and the dashboards show a "please log in" message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..core.identity import RoleMap, User
from .context import Context

FORWARDED = ("Cookie", "Authorization", "Host")


def forwarded_headers(headers: Mapping[str, Any], cookies: Mapping[str, str],
                      args: Mapping[str, list[bytes]]) -> dict[str, str]:
    """The credentials of the browser request, ready to forward to ``/api/me``."""
    out: dict[str, str] = {}
    lower = {k.lower(): v for k, v in headers.items()}
    for name in FORWARDED:
        value = lower.get(name.lower())
        if value:
            out[name] = value if isinstance(value, str) else ", ".join(value)
    if cookies and "Cookie" not in out:  # bokeh keeps cookies apart from the headers
        out["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    token = args.get("token")
    if token and "Authorization" not in out:
        out["Authorization"] = f"token {token[0].decode('utf-8', 'replace')}"
    return out


async def whoami(server_url: str, base_url: str, headers: dict[str, str],
                 timeout: float = 10.0) -> dict[str, Any] | None:
    """``identity`` from the Jupyter server's ``/api/me``, or ``None`` when not logged in."""
    if "Cookie" not in headers and "Authorization" not in headers:
        return None
    url = urljoin(server_url, base_url.rstrip("/") + "/api/me")
    request = HTTPRequest(url, headers=headers, follow_redirects=False,
                          request_timeout=timeout)
    try:
        response = await AsyncHTTPClient().fetch(request)
    except HTTPClientError as err:
        if err.code in (302, 401, 403):
            return None
        raise
    identity = json.loads(response.body).get("identity") or {}
    return identity if identity.get("username") else None


def user_from_identity(role_map: RoleMap, identity: Mapping[str, Any]) -> User:
    """Our ``User`` (with roles) from a Jupyter identity model."""
    return role_map.resolve(
        str(identity["username"]),
        str(identity.get("display_name") or identity.get("name") or ""),
        [str(g) for g in identity.get("groups") or ()],
    )


async def session_user(ctx: Context, state: Any) -> User | None:
    """The user of the current Panel session (``state`` is ``pn.state``).

    Dashboards call this once when a session loads and keep the result on the session's
    Viewer; nothing is cached across sessions.
    """
    if ctx.behind_jupyter:
        headers = forwarded_headers(state.headers or {}, state.cookies or {},
                                    state.session_args or {})
        identity = await whoami(str(ctx.server_url), ctx.base_url, headers)
        return None if identity is None else user_from_identity(ctx.role_map, identity)
    if ctx.hub:
        from .hub_auth import session_identity  # needs jupyterhub, present in a Hub service

        model = await session_identity(state.cookies or {})
        return None if model is None else user_from_identity(
            ctx.role_map, {"username": model["name"], "groups": model.get("groups") or ()})
    if state.user:
        info = state.user_info or {}
        return ctx.role_map.resolve(str(state.user), str(info.get("name") or ""),
                                    info.get("groups") or ())
    return None
