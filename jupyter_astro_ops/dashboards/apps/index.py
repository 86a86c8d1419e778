"""Astro Ops dashboards.

The index page: one link per dashboard found in this directory.
"""

from jupyter_astro_ops.dashboards.index import index_page

index_page().servable(title="Astro Ops dashboards")
