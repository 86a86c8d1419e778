"""REST handlers the JupyterLab extension calls (thin: parse, call, write JSON).

Under ``<base_url>astro-ops/api/v1/``: ``kernel-tokens`` (POST), ``kernel-tokens/<kernel_id>``
(DELETE), ``dashboards`` (GET) and ``me`` (GET).
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core.errors import Conflict, Forbidden
from ..dashboards.proxy import PROXY_NAME
from ..dashboards.registry import dashboards
from ..web.base import DASHBOARDS_URL_KEY, AstroOpsHandler, api_path
from .kernel_tokens import KERNEL_ID_PATTERN, KernelTokenStore
from .schemas import DashboardOut, KernelIdPath, KernelTokenIn, KernelTokenOut, MeOut


class LabBase(AstroOpsHandler):
    @property
    def kernel_tokens(self) -> KernelTokenStore:
        return self.services.kernel_tokens

    @property
    def shared_server(self) -> bool:
        """True when the identity provider honours kernel tokens (TokenMapIdentityProvider)."""
        return bool(getattr(self.identity_provider, "accepts_kernel_tokens", False))

    def refuse_kernel_token_callers(self) -> None:
        """A kernel token may not mint or revoke kernel tokens (no self-renewal)."""
        if getattr(self.current_user, "via_kernel", ""):
            raise Forbidden("a kernel token cannot manage kernel tokens")


class KernelTokensHandler(LabBase):
    """``POST kernel-tokens`` ``{"kernel_id"}`` -> 201 ``{"kernel_id", "token", "expires"}``."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        self.refuse_kernel_token_callers()
        body = self.parse_body(KernelTokenIn)
        if not self.shared_server:
            raise Conflict("not needed: the server token is yours")
        issued = self.kernel_tokens.issue(body.kernel_id, self.astro_user.username)
        self.log.info("astro-ops: kernel token for %s on kernel %s", issued.username,
                      issued.kernel_id)
        out = KernelTokenOut(kernel_id=issued.kernel_id, token=issued.token,
                             expires=issued.expires)
        self.set_header("Cache-Control", "no-store")
        self.write_json(out, 201, location=self.url_for_api(f"kernel-tokens/{body.kernel_id}"))


class KernelTokenHandler(LabBase):
    """``DELETE kernel-tokens/<kernel_id>``: revoke the caller's token for that kernel."""

    @web.authenticated
    @authorized
    async def delete(self, kernel_id: str) -> None:
        self.refuse_kernel_token_callers()
        path = KernelIdPath(kernel_id=kernel_id)
        self.kernel_tokens.revoke(path.kernel_id, self.astro_user.username)
        self.no_content()


class DashboardsHandler(LabBase):
    """``GET dashboards``: one entry per Panel dashboard (the launcher's tiles)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        elsewhere = self.settings.get(DASHBOARDS_URL_KEY)  # the JupyterHub service, if any
        prefix = (elsewhere.rstrip("/") if elsewhere else
                  f"{self.base_url.rstrip('/')}/{PROXY_NAME}") + "/"
        apps = await self.call(dashboards)
        self.write_json([DashboardOut(name=a.name, title=a.title, description=a.description,
                                      url=prefix + a.name) for a in apps])


class MeHandler(LabBase):
    """``GET me``: user name, groups, roles, whether you decide requests, the feed's cursor."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        user = self.astro_user
        activity = self.services.activity
        seq = await self.call(activity.events.latest_seq)
        decider = user.is_admin
        if not decider:
            projects = await self.call(activity.projects.list_projects, user)
            decider = any(m.username == user.username and m.role == "pi"
                          for p in projects for m in p.members)
        self.write_json(MeOut(
            username=user.username, display_name=user.label, groups=sorted(user.groups),
            roles=sorted(user.roles), is_admin=user.is_admin, decider=decider,
            kernel_tokens=self.shared_server, feed_seq=seq,
        ))


routes = [
    (api_path("kernel-tokens"), KernelTokensHandler),
    (api_path(f"kernel-tokens/(?P<kernel_id>{KERNEL_ID_PATTERN.strip('^$')})"),
     KernelTokenHandler),
    (api_path("dashboards"), DashboardsHandler),
    (api_path("me"), MeHandler),
]
