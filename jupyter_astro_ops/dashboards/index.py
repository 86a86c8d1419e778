"""The index page of the dashboard server: a link to each dashboard in ``registry``."""

from __future__ import annotations

import panel as pn

from .registry import dashboards


def index_page() -> pn.Column:
    """Links to every dashboard, relative to the server root (works under any prefix)."""
    items = "\n".join(f"- [{info.title}]({info.name}): {info.description}"
                      for info in dashboards())
    return pn.Column(pn.pane.Markdown(f"# Astro Ops dashboards\n\n{items}", name="index"),
                     sizing_mode="stretch_width")
