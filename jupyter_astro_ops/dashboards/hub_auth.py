"""The JupyterHub login of the dashboards' Hub service (a Bokeh ``--auth-module``).

Under JupyterHub one ``panel serve`` process serves every user's dashboards as the Hub service
``astro-ops-dash`` (``python -m jupyter_astro_ops.dashboards --hub``), instead of one Panel
process in each user's server. Who is looking is decided by the Hub alone, with JupyterHub's own
OAuth client (``jupyterhub.services.auth.HubOAuth``, configured from the ``JUPYTERHUB_*``
environment the Hub gives its services):

* ``get_user_async``: every page and websocket request carries the service's OAuth cookie
  (signed with the process's cookie secret); the token in it is checked with the Hub
  (``GET /hub/api/user``, cached for ``cache_max_age``) and must grant the service's access
  scope (``access:services!service=astro-ops-dash``), else the browser is sent to log in;
* ``LoginHandler`` at ``<prefix>/oauth_callback``: starts the OAuth flow (state cookie, PKCE
  when the Hub asks for it) and completes it (``HubOAuthCallbackHandler``);
* ``session_identity``: the Hub user model (name, groups) of a dashboard session, from that
  session's own cookie; the dashboards resolve roles from it with the shared ``RoleMap``.

Bokeh loads this file by path, so it imports absolutely.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from tornado.httputil import url_concat
from tornado.web import RequestHandler, decode_signed_value

#: the cookie secret of the ``panel serve`` process (set by ``--hub``; also ``--cookie-secret``)
SECRET_ENV = "ASTRO_OPS_DASH_COOKIE_SECRET"  # noqa: S105 (the name of a variable)

_AUTH: HubOAuth | None = None


def hub_auth() -> HubOAuth:
    """The process's one ``HubOAuth`` client (configured from ``JUPYTERHUB_*``)."""
    global _AUTH
    if _AUTH is None:
        _AUTH = HubOAuth(cache_max_age=60)
    return _AUTH


def allowed(model: dict[str, Any] | None) -> dict[str, Any] | None:
    """``model`` if it is a user holding the service's access scope, else ``None``."""
    if not model or model.get("kind", "user") != "user":
        return None
    auth = hub_auth()
    if auth.access_scopes and not auth.check_scopes(auth.access_scopes, model):
        return None
    return model


async def get_user_async(handler: RequestHandler) -> str | None:
    """Bokeh's gate for every document and websocket request."""
    model = allowed(await hub_auth().get_user(handler, sync=False))
    return None if model is None else str(model["name"])


login_url = "/oauth_callback"


class LoginHandler(HubOAuthCallbackHandler):  # type: ignore[misc]
    """``<prefix>/oauth_callback``: start the Hub's OAuth flow, or finish it (``?code=``)."""

    def initialize(self) -> None:
        self.hub_auth = hub_auth()

    async def get(self) -> None:
        if self.get_argument("code", None) or self.get_argument("error", None):
            await super().get()
            return
        auth = self.hub_auth
        prefix = auth.base_url  # the service prefix, /services/astro-ops-dash/
        next_url = self.get_argument("next", prefix)
        if not next_url.startswith(prefix) or "//" in next_url or "\\" in next_url:
            next_url = prefix  # only back into this service: no open redirect
        params: dict[str, str] = {}
        verifier = None
        if auth.pkce_enabled:
            verifier, challenge, method = auth.generate_pkce_code_challenge()
            params.update(code_challenge=challenge, code_challenge_method=method)
        params["state"] = auth.set_state_cookie(self, next_url=next_url, code_verifier=verifier)
        self.redirect(url_concat(auth.login_url, params))


async def session_identity(cookies: Mapping[str, str]) -> dict[str, Any] | None:
    """The Hub user model of a dashboard session (from its OAuth cookie), or ``None``."""
    auth = hub_auth()
    raw, secret = cookies.get(auth.cookie_name), os.environ.get(SECRET_ENV)
    if not raw or not secret:
        return None
    token = decode_signed_value(secret, auth.cookie_name, raw)
    if token is None:
        return None
    return allowed(await auth.user_for_token(token.decode("ascii", "replace"), sync=False))


__all__ = ["LoginHandler", "get_user_async", "hub_auth", "login_url", "session_identity"]
