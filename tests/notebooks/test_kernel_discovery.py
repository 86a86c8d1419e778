"""``AstroOps()`` with no arguments, in a kernel the server itself started, finds that server.

This is the real notebook situation: the kernel is a child of the Jupyter server, has no
``ASTRO_OPS_*`` variables, and must match its parent pid against the server's
``jpserver-<pid>.json`` in the runtime directory to learn the URL and token.
"""

from __future__ import annotations

from ..kernel_ws import Kernel
from .conftest import OWNER_TOKEN, LiveServer

CODE = """
from jupyter_astro_ops.client import AstroOps
ops = AstroOps()
print("SOURCE", ops.server.source)
print("USER", ops.me()["identity"]["username"])
print("SITES", sorted(s["code"] for s in ops.sites()))
"""


def execute_in_kernel(server: LiveServer, code: str) -> str:
    """Start a kernel through the server's REST API, run ``code``, return its stdout."""
    kernel = Kernel(server.url, OWNER_TOKEN)
    try:
        return kernel.execute(code)[0]
    finally:
        kernel.close()


def test_kernel_started_by_the_server_finds_it(live_server: LiveServer) -> None:
    out = execute_in_kernel(live_server, CODE)
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines() if " " in line)
    assert lines.get("SOURCE", "").startswith("server pid "), out
    assert lines["USER"] == "owner"  # the server's own token, read from its runtime file
    assert lines["SITES"] == "['saf']"
