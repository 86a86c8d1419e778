"""Ocat.

Target-parameter change requests: the status board with the sign-offs you can give, revision
detail, submission with live warnings, express approval and the POC duty rota.
"""

from jupyter_astro_ops.dashboards.ocat_view import build
from jupyter_astro_ops.dashboards.page import serve_page

serve_page("ocat", build)
