"""The Python client for notebooks and scripts: ``from jupyter_astro_ops.client import AstroOps``.

::

    ops = AstroOps()                       # inside a notebook: finds its own server and token
    job = ops.stage("archive:night1/", "data/night1")
    job.wait()                             # tqdm progress bars, raises JobFailed on failure
    ops.book("saf", start, end)            # ConflictError if the slot is taken
"""

from .api import AstroOps, parse_location
from .discovery import ServerInfo, find_server
from .errors import (
    AstroOpsError,
    BadRequest,
    ConflictError,
    ConnectionFailed,
    JobFailed,
    NotFound,
    PermissionDenied,
    ProtocolError,
    ServerError,
    ServerNotFound,
)
from .jobs import Job

__all__ = [
    "AstroOps", "AstroOpsError", "BadRequest", "ConflictError", "ConnectionFailed", "Job",
    "JobFailed", "NotFound", "PermissionDenied", "ProtocolError", "ServerError", "ServerInfo",
    "ServerNotFound",
    "find_server", "parse_location",
]
