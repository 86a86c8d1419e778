"""Activity.

The live activity feed: filter events, read their log, approve or deny pending requests.
"""

from jupyter_astro_ops.dashboards.activity_view import build
from jupyter_astro_ops.dashboards.page import serve_page

serve_page("activity", build)
