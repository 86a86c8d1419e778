"""``jupyter astro-ops stage <root>:<path> <target>``: start a staging job from a terminal.

Talks to a running server through the Python client (so the server's rules apply): waits with
tqdm bars unless ``--no-wait``; exit status 0 on success, 1 with the server's message on
failure. ``--list`` prints the user's jobs. The server is found as in notebooks (ancestor
process, ``ASTRO_OPS_URL``/``ASTRO_OPS_TOKEN``, the only running server) or given with
``--url`` / ``--token``.
"""

from __future__ import annotations

import sys
from typing import Any

from jupyter_core.application import JupyterApp
from traitlets import Bool, Float, Unicode

from .._version import __version__
from ..client import AstroOps, AstroOpsError, Job


def _fmt_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def job_line(job: Job) -> str:
    """One line per job for ``--list``."""
    source = job.data.get("source") or {}
    src = f"{source.get('root', '?')}:{source.get('path', '')}" if isinstance(source, dict) \
        else str(source)
    files = f"{job.files_done or 0}/{job.files_total if job.files_total is not None else '?'}"
    return (f"{job.id}  {job.status:<10} {src} -> {job.data.get('target', '?')}  "
            f"files {files}  {_fmt_bytes(job.bytes_done)}/{_fmt_bytes(job.bytes_total)}")


class StageCommand(JupyterApp):
    """``jupyter astro-ops stage``."""

    name = "jupyter-astro-ops-stage"
    version = __version__
    description = "Stage data from a storage root into the Jupyter working directory."
    examples = """
    jupyter astro-ops stage archive:night1/ data/night1
    jupyter astro-ops stage archive:night1/frame001.fits data/ --method symlink --no-wait
    jupyter astro-ops stage --list
    """

    url = Unicode("", config=True, help="Server URL with base URL (default: found by itself).")
    token = Unicode("", config=True, help="API token (default: found with the server).")
    method = Unicode("copy", config=True, help="Staging method (see GET staging/methods).")
    wait = Bool(True, config=True, help="Wait for the job to finish, showing progress.")
    progress = Bool(True, config=True, help="Show tqdm progress bars while waiting.")
    timeout = Float(0.0, config=True, help="Give up waiting after this many seconds (0: never).")
    list_jobs = Bool(False, config=True, help="List the user's staging jobs and exit.")

    aliases = {
        "url": "StageCommand.url", "token": "StageCommand.token",
        "method": "StageCommand.method", "timeout": "StageCommand.timeout",
        "log-level": "Application.log_level",
    }
    flags = {
        "no-wait": ({"StageCommand": {"wait": False}}, "Start the job and exit at once."),
        "no-progress": ({"StageCommand": {"progress": False}}, "Wait without progress bars."),
        "list": ({"StageCommand": {"list_jobs": True}}, "List the user's staging jobs."),
    }

    def client(self) -> AstroOps:
        return AstroOps(url=self.url or None, token=self.token or None)

    def run(self) -> int:
        """Do the work; returns the exit status."""
        ops = self.client()
        if self.list_jobs:
            for job in ops.jobs():
                print(job_line(job))
            return 0
        if len(self.extra_args) != 2:
            print("usage: jupyter astro-ops stage <root>:<path> <target> [--method M] "
                  "[--no-wait]", file=sys.stderr)
            return 2
        source, target = self.extra_args
        job = ops.stage(source, target, method=self.method)
        print(f"job {job.id} {job.status}: {source} -> {target} ({self.method})")
        if not self.wait:
            return 0
        job.wait(progress=self.progress, timeout=self.timeout or None)
        print(f"job {job.id} {job.status}: {job.files_done or 0} files, "
              f"{_fmt_bytes(job.bytes_done)}")
        return 0

    def start(self) -> None:
        try:
            status = self.run()
        except (AstroOpsError, ValueError, TimeoutError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
        self.exit(status)


main: Any = StageCommand.launch_instance

if __name__ == "__main__":
    main()
