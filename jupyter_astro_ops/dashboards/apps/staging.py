"""Staging.

Browse the storage roots, stage data into your working directory, follow your jobs live
(progress of files and bytes, log) and write small files into writable roots.
"""

from jupyter_astro_ops.dashboards.page import serve_page
from jupyter_astro_ops.dashboards.staging_view import build

serve_page("staging", build)
