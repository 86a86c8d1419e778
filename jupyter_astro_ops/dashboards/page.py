"""The one page template of every dashboard under ``panel serve``: a ``pmui.Page``.

``serve_page(name, build)`` makes the servable page of the app ``name`` (``registry``):

* the app bar: the product name (a link to the index), the dashboard's title and, once the
  session's user is known (``identity.session_user``), who is signed in;
* the sidebar: every dashboard of ``registry.dashboards()`` with its icon
  (``index_source.card_for``), the current one marked, and JupyterLab when behind Jupyter;
* the main area: ``build(ctx, user)``, the dashboard's Viewer, or a "please log in" notice.

Colours, fonts and spacing come from one Material theme (``THEME``), so every dashboard looks
the same; the page chrome stays here so that a Viewer also works alone in a notebook. Links
are relative (``activity``, ``./``), so the pages work under any prefix: each lives at
``<prefix>/<name>``, the index at ``<prefix>/``. Every resource (fonts and icons included)
comes from the local panel server: no CDN, works offline (``ui_tests`` check every request).
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import panel as pn
import panel_material_ui as pmui

from ..core.identity import User
from .context import Context, get_context
from .identity import session_user
from .index_source import card_for
from .proxy import STATIC_ROUTE
from .registry import INDEX_APP, AppInfo, app_info, dashboards
from .text import escape_md

log = logging.getLogger(__name__)
Builder = Callable[[Context, User], Any]
PRODUCT = "Astro Ops"
#: below the panel prefix (``proxy.panel_command`` serves ``static/`` there): bokeh serves
#: its own ``/favicon.ico`` only outside ``--prefix``, so every page points at ours
FAVICON = f"./{STATIC_ROUTE}/icon.svg"
SIDEBAR_WIDTH = 230
THEME: dict[str, Any] = {
    "palette": {"primary": {"main": "#1a3d6d"}, "secondary": {"main": "#b5651d"},
                "background": {"default": "#f5f7fa"}},
    "shape": {"borderRadius": 6},
}
INDEX_LABEL = "Overview"

# Resources (bokeh, panel, tabulator, Material fonts and icons) are served by the local panel
# server itself (panel serve's default "server" resources): no CDN, works offline.
pn.extension("tabulator")


def nav_items(current: str, jupyter_url: str | None = None) -> list[dict[str, Any]]:
    """The sidebar's links: the index, every dashboard, JupyterLab (relative hrefs)."""
    items: list[dict[str, Any]] = [{"label": INDEX_LABEL, "icon": "home", "href": "./"}]
    items += [{"label": info.title, "icon": card_for(info.name).icon, "href": info.name}
              for info in dashboards()]
    if jupyter_url:
        items.append({"label": "JupyterLab", "icon": "science", "href": jupyter_url})
    return items


def nav_index(current: str) -> int:
    """Position of app ``current`` in ``nav_items`` (the index first)."""
    names = [INDEX_APP, *(info.name for info in dashboards())]
    return names.index(current) if current in names else 0


def signed_in(user: User | None) -> str:
    """The app bar's right-hand text."""
    if user is None:
        return "Checking your login..."
    name = escape_md(user.label)
    return name if user.label == user.username else f"{name} ({escape_md(user.username)})"


def login_message(ctx: Context) -> str:
    """What to show a visitor who is not logged in."""
    if ctx.hub:
        hub = os.environ.get("JUPYTERHUB_BASE_URL", "/").rstrip("/") + "/hub/home"
        return (f"Your JupyterHub login did not reach this page. Open [JupyterHub]({hub}), "
                "log in, and come back.")
    if ctx.behind_jupyter:
        login = f"{ctx.base_url.rstrip('/')}/login"
        return (f"Open [the Jupyter login page]({login}) and come back to this page; the "
                "dashboards use your Jupyter login.")
    return ("This dashboard server has no login configured. Start it with "
            "`--oauth-provider ...` or `--basic-auth ...` (see the README).")


class Chrome:
    """The page of one app: builds the ``pmui.Page`` and swaps its content once loaded."""

    def __init__(self, info: AppInfo, jupyter_url: str | None = None) -> None:
        self.info = info
        title = INDEX_LABEL if info.name == INDEX_APP else info.title
        self.user_text = pmui.Typography(signed_in(None), variant="body2", name="signed-in",
                                         styles={"color": "white", "white-space": "nowrap"},
                                         margin=(0, 10))
        # the main area stays one Column whose objects are swapped: a Bokeh figure put into a
        # pmui.Page by replacing ``page.main`` fails in the browser ("reading 'top_panel'")
        self.body = pn.Column(
            pmui.Row(pmui.CircularProgress(value=0, variant="indeterminate", size=40),
                     pmui.Typography("Loading...", variant="body1")),
            sizing_mode="stretch_width")
        self.page = pmui.Page(
            title=PRODUCT, site_url="./", theme_toggle=False, theme_config=THEME,
            favicon=FAVICON, sidebar_width=SIDEBAR_WIDTH, busy_indicator="linear",
            meta_description=info.description,
            header=[pmui.Typography(f"· {escape_md(title)}", variant="h6", name="page-title",
                                    styles={"color": "white", "white-space": "nowrap"},
                                    margin=(0, 10)),
                    pn.HSpacer(), self.user_text],
            sidebar=[pmui.MenuList(items=nav_items(info.name, jupyter_url),
                                   active=nav_index(info.name), name="dashboards",
                                   sizing_mode="stretch_width")],
            main=[self.body],
        )

    def show(self, user: User | None, content: Any) -> None:
        """Replace the loading state with who is signed in and the content."""
        self.user_text.object = "Not signed in" if user is None else \
            f"Signed in as {signed_in(user)}"
        self.body[:] = [content]


def serve_page(name: str, build: Builder) -> pmui.Page:
    """Make the page of app ``name`` servable; its content is built when the session loads."""
    info = app_info(Path(__file__).parent / "apps" / f"{name}.py")
    ctx = get_context()
    jupyter = f"{ctx.base_url.rstrip('/')}/lab" if ctx.behind_jupyter else None
    chrome = Chrome(info, jupyter)
    if pn.state.curdoc is not None:  # the template's <link rel="icon">, below the prefix
        pn.state.curdoc.template_variables["app_favicon"] = FAVICON

    async def load() -> None:
        try:
            user = await session_user(ctx, pn.state)
        except Exception:  # the server may be gone; say so instead of a blank page
            log.exception("could not resolve the dashboard user")
            chrome.show(None, pmui.Alert(
                title="Could not check your login",
                object="The Jupyter server did not answer; reload the page to retry.",
                severity="error", alert_type="error", sizing_mode="stretch_width"))
            return
        if user is None:
            chrome.show(None, pmui.Alert(title="Please log in", object=login_message(ctx),
                                         severity="info", alert_type="info",
                                         sizing_mode="stretch_width"))
            return
        content = build(ctx, user)
        if inspect.isawaitable(content):  # a builder that loads its data before showing
            content = await content
        chrome.show(user, content)

    pn.state.onload(load)
    window = f"{PRODUCT} · {INDEX_LABEL if name == INDEX_APP else info.title}"
    return chrome.page.servable(title=window)
