"""Calendar.

Telescope reservations per site over a day, week or month: book with a conflict preview, edit
and cancel your own bookings, see everyone else's live.
"""

from jupyter_astro_ops.dashboards.calendar_view import build
from jupyter_astro_ops.dashboards.page import serve_page

serve_page("calendar", build)
