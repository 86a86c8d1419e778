"""Page scaffolding shared by the dashboard app scripts under ``panel serve``.

``serve_page(title, build)`` makes the servable page of one dashboard: a header, then, once the
session has loaded and its user is known (``identity.session_user``), ``build(ctx, user)``, the
dashboard's Viewer. Without a login it shows a "please log in" message and no data.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import panel as pn

from ..core.identity import User
from .context import Context, get_context
from .identity import session_user
from .proxy import STATIC_ROUTE

log = logging.getLogger(__name__)
Builder = Callable[[Context, User], Any]

# Resources (bokeh, panel, tabulator) are served by the local panel server itself (panel
# serve's default "server" resources): no CDN, works offline (ui_tests check every request).
pn.extension("tabulator", notifications=True)


def login_message(ctx: Context) -> str:
    """What to show a visitor who is not logged in."""
    if ctx.hub:
        hub = os.environ.get("JUPYTERHUB_BASE_URL", "/").rstrip("/") + "/hub/home"
        return (f"### Please log in\n\nYour JupyterHub login did not reach this page. Open "
                f"[JupyterHub]({hub}), log in, and come back.")
    if ctx.behind_jupyter:
        login = f"{ctx.base_url.rstrip('/')}/login"
        return (f"### Please log in\n\nOpen [the Jupyter login page]({login}) and come back to "
                "this page; the dashboards use your Jupyter login.")
    return ("### Please log in\n\nThis dashboard server has no login configured. Start it with "
            "`--oauth-provider ...` or `--basic-auth ...` (see the README).")


def header(title: str, user: User | None = None) -> pn.pane.Markdown:
    who = f" · signed in as **{user.label}** ({user.username})" if user else ""
    return pn.pane.Markdown(f"## {title}{who}\n[All dashboards](./)", margin=(0, 10))


def serve_page(title: str, build: Builder) -> pn.Column:
    """Make the page servable; the dashboard is built when the session has loaded."""
    page = pn.Column(header(title), pn.indicators.LoadingSpinner(value=True, size=30),
                     sizing_mode="stretch_width")
    # bokeh serves its own /favicon.ico only outside --prefix: point at ours, below the prefix
    if pn.state.curdoc is not None:
        pn.state.curdoc.template_variables["app_favicon"] = f"./{STATIC_ROUTE}/icon.svg"

    async def load() -> None:
        ctx = get_context()
        try:
            user = await session_user(ctx, pn.state)
        except Exception:  # the server may be gone; say so instead of a blank page
            log.exception("could not resolve the dashboard user")
            page[:] = [header(title), pn.pane.Alert("Could not reach the Jupyter server to "
                                                    "check your login.", alert_type="danger")]
            return
        if user is None:
            page[:] = [header(title), pn.pane.Markdown(login_message(ctx))]
            return
        page[:] = [header(title, user), build(ctx, user)]

    pn.state.onload(load)
    return page.servable(title=f"Astro Ops · {title}")
