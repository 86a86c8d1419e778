"""Overview.

The landing page: a card per dashboard with what it is for and a live figure (requests waiting
for you, your running jobs, your bookings this week), behind the same login as the others.
"""

from jupyter_astro_ops.dashboards.index import build
from jupyter_astro_ops.dashboards.page import serve_page

serve_page("index", build)
