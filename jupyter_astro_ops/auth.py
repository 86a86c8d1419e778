"""``TokenMapIdentityProvider``: API tokens mapped to named users with groups.

For the demo and for a small team sharing one Jupyter server::

    c.ServerApp.identity_provider_class = "jupyter_astro_ops.auth.TokenMapIdentityProvider"
    c.TokenMapIdentityProvider.tokens = {
        "s3cret-obs1": {"username": "obs1", "display_name": "Observer One", "groups": ["arcops"]},
    }

A mapped token works in ``Authorization: token <t>``, in ``?token=<t>`` and in the login form;
the login cookie then carries the user, and groups are looked up again from the map on every
request (a cookie never grants groups by itself). The server's own token, if any, still logs in
its owner. An unknown token is refused (403 on the API).

Kernel tokens (``jupyter_astro_ops.lab.kernel_tokens``) are accepted here too: a notebook's
kernel acts as the user who opened it, but only on the routes ``in_scope`` allows (astro-ops,
read-only ``api/me`` and ``api/contents``), and such a request never gets a login cookie, so the
token cannot be turned into a full session.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web
from traitlets import Dict, Unicode, validate

from .lab.kernel_tokens import in_scope, is_kernel_token
from .web.base import SERVICES_KEY, services_of


@dataclass
class GroupedUser(User):
    """A Jupyter ``User`` that also carries identity-provider groups."""

    groups: list[str] = field(default_factory=list)
    #: set when the request was authenticated by a kernel token (the kernel's id)
    via_kernel: str = ""


class TokenMapIdentityProvider(IdentityProvider):
    """Identity provider that maps API tokens to users."""

    tokens = Dict(
        config=True,
        help=(
            "Map of API token -> {'username': ..., 'display_name': ..., 'groups': [...]}. "
            "Each token logs in as its user; unknown tokens are refused."
        ),
    )
    #: read by ``lab.handlers``: this provider honours kernel tokens (a shared server)
    accepts_kernel_tokens = True

    owner_username = Unicode(
        "owner", config=True,
        help="User name given to whoever logs in with the server's own token (if one is set).",
    )

    @validate("tokens")
    def _check_tokens(self, proposal: Any) -> dict[str, dict[str, Any]]:
        value = proposal["value"]
        for token, info in value.items():
            if not isinstance(info, dict) or not info.get("username"):
                raise ValueError(f"token entry {token[:4]}... needs a 'username'")
            if len(token) < 8:
                raise ValueError("mapped tokens must be at least 8 characters long")
        return value

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return True

    def _user_for(self, username: str) -> GroupedUser | None:
        if username == self.owner_username and self.token:
            return GroupedUser(username=username, display_name="Server owner")
        for info in self.tokens.values():
            if info["username"] == username:
                return GroupedUser(
                    username=username,
                    display_name=info.get("display_name", username),
                    groups=list(info.get("groups", [])),
                )
        return None

    def _lookup_token(self, presented: str) -> GroupedUser | None:
        found = None
        for token, info in self.tokens.items():
            # constant-time comparison for every entry (no early exit on a match)
            if hmac.compare_digest(token.encode(), presented.encode()):
                found = info["username"]
        if found is None and self.token and hmac.compare_digest(self.token.encode(),
                                                                 presented.encode()):
            found = self.owner_username
        return self._user_for(found) if found else None

    async def get_user_token(self, handler: web.RequestHandler) -> User | None:
        presented = self.get_token(handler)
        if not presented:
            return None
        if is_kernel_token(presented):
            return self._kernel_token_user(handler, presented)
        return self._lookup_token(presented)

    def _kernel_token_user(self, handler: web.RequestHandler, presented: str) -> User | None:
        if SERVICES_KEY not in handler.settings:  # astro-ops is not loaded on this server
            return None
        match = services_of(handler.settings).kernel_tokens.lookup(presented)
        if match is None:
            return None
        request = handler.request
        base_url = handler.settings.get("base_url", "/")
        if not in_scope(base_url, request.method or "", request.path):
            self.log.warning("kernel token of %s (kernel %s) refused for %s %s",
                             match.username, match.kernel_id, request.method, request.path)
            return None
        user = self._user_for(match.username)
        if user is None:  # the user was removed from the token map since
            return None
        user.via_kernel = match.kernel_id
        return user

    def set_login_cookie(self, handler: web.RequestHandler, user: User) -> None:
        """Never for a kernel token: it must not grow into a full browser session."""
        if getattr(user, "via_kernel", ""):
            return
        super().set_login_cookie(handler, user)

    def user_to_cookie(self, user: User) -> str:
        return json.dumps({"username": user.username})

    def user_from_cookie(self, cookie_value: str) -> User | None:
        try:
            username = json.loads(cookie_value)["username"]
        except (ValueError, KeyError, TypeError):
            return None
        return self._user_for(username)

    def process_login_form(self, handler: web.RequestHandler) -> User | None:
        typed = handler.get_argument("password", default="")
        return self._lookup_token(typed) if typed else None
