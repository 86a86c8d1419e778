"""People Planner.

Where everyone is, every day: employees x days with defaults, imports and holidays, coverage
gaps in red, "where is" search, edit your own cells and answer swap requests, live.
"""

from jupyter_astro_ops.dashboards.page import serve_page
from jupyter_astro_ops.dashboards.planner_view import build

serve_page("planner", build)
