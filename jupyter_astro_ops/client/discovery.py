"""Find the Jupyter server a notebook (or a JupyterLab terminal) runs under: its URL and token.

Order, first match wins:

1. explicit ``url=`` / ``token=`` arguments;
2. ``ASTRO_OPS_URL``, then ``JUPYTER_SERVER_URL`` (with ``JUPYTER_TOKEN``);
3. the running server whose pid is this process's parent or a near ancestor (a kernel is a
   child of its server; a terminal command is a grandchild), from the ``jpserver-<pid>.json``
   files in the Jupyter runtime directory (``$JUPYTER_RUNTIME_DIR``);
4. JupyterHub: ``JUPYTERHUB_SERVICE_URL`` (or ``JUPYTERHUB_SERVICE_PREFIX`` on localhost);
5. the only running server, if exactly one is running.

The token: ``token=``, else ``ASTRO_OPS_TOKEN`` (whatever found the URL; on a server shared
through ``TokenMapIdentityProvider`` this is how a notebook acts as its own user), else the
chosen server's token, else ``JUPYTERHUB_API_TOKEN`` (a single-user server behind JupyterHub
accepts it), else none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ServerNotFound

#: how many generations above this process to look for the server
ANCESTOR_DEPTH = 5


@dataclass(frozen=True)
class ServerInfo:
    """Where to reach the server: ``url`` ends with ``/`` and includes the base URL."""

    url: str
    token: str | None
    source: str

    def __repr__(self) -> str:  # never print the token
        return f"ServerInfo(url={self.url!r}, token={'***' if self.token else None}, " \
               f"source={self.source!r})"


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def parent_pid(pid: int) -> int | None:
    """The parent of ``pid`` (Linux ``/proc``, or psutil where installed); None if unknown."""
    if pid == os.getpid():
        return os.getppid()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        # the command name in parentheses may hold spaces: split after the last ')'
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        pass
    try:
        import psutil  # optional
    except ImportError:
        return None
    try:
        return int(psutil.Process(pid).ppid())
    except Exception:  # psutil.Error and friends: the process is gone or hidden
        return None


def ancestors(depth: int = ANCESTOR_DEPTH) -> Iterator[int]:
    """pids of the parent, grandparent, ... of this process (up to ``depth``, never pid 0/1)."""
    pid: int | None = os.getpid()
    for _ in range(depth):
        pid = parent_pid(pid) if pid else None
        if not pid or pid <= 1:
            return
        yield pid


def running_servers(runtime_dir: str | None = None) -> list[dict[str, Any]]:
    """Info dicts of running Jupyter servers (as ``jupyter server list`` sees them)."""
    from jupyter_server.serverapp import list_running_servers

    try:
        return list(list_running_servers(runtime_dir))
    except OSError:
        return []


def _from_info(info: dict[str, Any], source: str) -> ServerInfo:
    url = info.get("url") or ""
    if not url or info.get("sock"):
        raise ServerNotFound(
            f"the Jupyter server (pid {info.get('pid')}) listens on a unix socket; "
            "pass url= explicitly"
        )
    token = info.get("token") or os.environ.get("JUPYTERHUB_API_TOKEN") or None
    return ServerInfo(_slash(url), token, source)


def _from_env() -> ServerInfo | None:
    for url_var, token_var in (("ASTRO_OPS_URL", "JUPYTER_TOKEN"),
                               ("JUPYTER_SERVER_URL", "JUPYTER_TOKEN")):
        url = os.environ.get(url_var)
        if url:
            token = os.environ.get(token_var) or os.environ.get("JUPYTERHUB_API_TOKEN") or None
            return ServerInfo(_slash(url), token, f"${url_var}")
    return None


def _from_hub() -> ServerInfo | None:
    token = os.environ.get("JUPYTERHUB_API_TOKEN") or None
    url = os.environ.get("JUPYTERHUB_SERVICE_URL")
    if url:
        return ServerInfo(_slash(url), token, "$JUPYTERHUB_SERVICE_URL")
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix:
        port = os.environ.get("JUPYTERHUB_SERVICE_PORT", "8888")
        return ServerInfo(_slash(f"http://127.0.0.1:{port}/{prefix.strip('/')}"), token,
                          "$JUPYTERHUB_SERVICE_PREFIX")
    return None


def find_server(url: str | None = None, token: str | None = None,
                runtime_dir: str | None = None) -> ServerInfo:
    """Resolve the server to talk to (see the module docstring for the order)."""
    if url:
        found = ServerInfo(_slash(url), os.environ.get("JUPYTER_TOKEN") or None, "argument")
    else:
        found = _from_env() or _from_runtime(runtime_dir)
    if token is None:
        token = os.environ.get("ASTRO_OPS_TOKEN") or found.token
    return ServerInfo(found.url, token or None, found.source)


def _from_runtime(runtime_dir: str | None) -> ServerInfo:
    servers = running_servers(runtime_dir)
    by_pid = {int(s["pid"]): s for s in servers if "pid" in s}
    for pid in ancestors():
        if pid in by_pid:
            return _from_info(by_pid[pid], f"server pid {pid}")
    found = _from_hub()
    if found is None and len(servers) == 1:
        found = _from_info(servers[0], "the only running server")
    if found is None:
        where = runtime_dir or os.environ.get("JUPYTER_RUNTIME_DIR") or "the runtime dir"
        raise ServerNotFound(
            f"no Jupyter server found for this process ({len(servers)} running in "
            f"{where}); pass url= and token= (--url/--token on the command line) "
            "or set ASTRO_OPS_URL and ASTRO_OPS_TOKEN"
        )
    return found
