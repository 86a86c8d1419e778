"""A real JupyterHub for tests: ``jupyterhub`` from PyPI, ``configurable-http-proxy`` from npm.

``Hub(root, db_url, ...)`` writes a ``jupyterhub_config.py`` like ``docs/deploy-jupyterhub.md``
describes (a simple local process spawner, each user's home under ``root/home``, the dummy
authenticator with one shared password, groups loaded into the Hub), one shared
``jupyter_server_config.json`` for the user servers and the services (the PostgreSQL URL,
roles from Hub groups, ``run_background = False`` on user servers), the worker service(s)
``jupyter astro-ops worker`` and, with ``dashboards=True``, the dashboards' Hub service. A
``test-admin`` service token drives the Hub's REST API where a test needs an operator (stop a
server as culling would, read the users' server states).

``hub.login(name)`` logs in through the Hub's login form, like a browser: a ``HubUser`` holds
that browser's cookies, starts the user's server through the Hub and calls its API (with the
XSRF token jupyter_server asks of cookie logins).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import websocket

from ..kernel_ws import execute

REPO = Path(__file__).resolve().parents[2]
PROXY = REPO / "deploy" / "jupyterhub" / "node_modules" / ".bin" / "configurable-http-proxy"
BIN = Path(sys.executable).parent
PASSWORD = "hub-test-password"  # noqa: S105 (the dummy authenticator's test password)
DASH = "astro-ops-dash"
SHUTDOWN = "initiating shutdown"  # the Hub's log line when it receives SIGTERM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Any, what: str, timeout: float = 180.0, every: float = 0.3) -> Any:
    """Poll ``check()`` until it returns something truthy (bounded; never a timing assert)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@dataclass
class Hub:
    root: Path
    db_url: str
    groups: dict[str, list[str]]
    roles: dict[str, list[str]]
    astro_config: dict[str, Any] = field(default_factory=dict)
    workers: int = 1
    dashboards: bool = False
    port: int = field(default_factory=free_port)
    admin_token: str = field(default_factory=lambda: secrets.token_hex(16))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def homes(self) -> Path:
        return self.root / "home"

    @property
    def log(self) -> Path:
        return self.root / "hub.log"

    # -- configuration ---------------------------------------------------------------------
    def shared_config(self) -> dict[str, Any]:
        """``jupyter_server_config.json`` of the user servers, the worker and the dashboards."""
        config = {
            "AstroOpsApp": {"db_url": self.db_url, "roles": self.roles,
                            "run_background": False},
            "JobStore": {"home_template": str(self.homes / "{username}"), "lease_seconds": 20.0},
            "IdentityProvider": {"token": ""},
        }
        if self.dashboards:
            config["AstroOpsApp"]["dashboards_url"] = f"/services/{DASH}/"
        for section, values in self.astro_config.items():
            config.setdefault(section, {}).update(values)
        return config

    def _service_env(self) -> dict[str, str]:
        return {"JUPYTER_CONFIG_DIR": str(self.root / "config"), "PATH": os.environ["PATH"],
                "HOME": str(self.root / "services"), "PYTHONUNBUFFERED": "1"}

    def write_config(self) -> Path:
        (self.root / "config").mkdir(parents=True, exist_ok=True)
        (self.root / "services").mkdir(exist_ok=True)
        self.homes.mkdir(exist_ok=True)
        (self.root / "config" / "jupyter_server_config.json").write_text(
            json.dumps(self.shared_config(), indent=1))
        services: list[dict[str, Any]] = [{"name": "test-admin", "api_token": self.admin_token}]
        for i in range(self.workers):
            services.append({"name": f"astro-ops-worker-{i + 1}",
                             "command": [str(BIN / "jupyter"), "astro-ops", "worker"],
                             "environment": self._service_env()})
        scopes = ["self"]
        if self.dashboards:
            services.append({
                "name": DASH, "url": f"http://127.0.0.1:{free_port()}", "oauth_no_confirm": True,
                "command": [sys.executable, "-m", "jupyter_astro_ops.dashboards", "--hub",
                            "--num-procs", "1"],
                "environment": self._service_env()})
            scopes.append(f"access:services!service={DASH}")
        config = {
            "bind_url": self.url, "hub_bind_url": f"http://127.0.0.1:{free_port()}",
            "db_url": f"sqlite:///{self.root / 'jupyterhub.sqlite'}",
            "cookie_secret_file": str(self.root / "cookie_secret"),
            "pid_file": str(self.root / "jupyterhub.pid"),
            "authenticator_class": "dummy", "spawner_class": "simple",
            "services": services,
            "load_groups": {g: {"users": members} for g, members in self.groups.items()},
            "load_roles": [
                {"name": "user", "scopes": scopes},
                {"name": "test-admin", "services": ["test-admin"],
                 "scopes": ["admin:users", "admin:servers", "tokens", "list:users",
                            "read:users"]},
            ],
        }
        lines = [f"c.JupyterHub.{k} = {v!r}" for k, v in config.items()] + [
            f"c.DummyAuthenticator.password = {PASSWORD!r}",
            "c.Authenticator.allow_all = True",
            f"c.SimpleLocalProcessSpawner.home_dir_template = {str(self.homes / '{username}')!r}",
            f"c.Spawner.cmd = [{str(BIN / 'jupyterhub-singleuser')!r}]",
            "c.Spawner.args = ['--allow-root']",
            f"c.Spawner.environment = {self._service_env() | {'HOME': '{HOME}'}!r}",
            "c.Spawner.start_timeout = 180",
            "c.Spawner.http_timeout = 180",
            f"c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]",
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'",
            "c.JupyterHub.cleanup_servers = True",
        ]
        path = self.root / "jupyterhub_config.py"
        path.write_text("\n".join(lines) + "\n")
        return path

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Hub:
        config = self.write_config()
        env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "jupyterhub"), "-f", str(config)], cwd=self.root, env=env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self._healthy, "the Hub to answer")
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"jupyterhub exited:\n{self.log_text()[-4000:]}")
        try:
            return requests.get(self.url + "hub/health", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # the Hub stops its servers and services
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def server_errors(self) -> list[str]:
        """Tracebacks in the Hub's log (its own, the proxy's, the services' and servers'),
        up to the Hub's shutdown: while it stops, JupyterHub 5's own service health check may
        race its cleanup (``'NoneType' object has no attribute 'proto'``), which is not ours."""
        text = self.log_text().split(SHUTDOWN, 1)[0]
        return [line for line in text.splitlines()
                if "Traceback (most recent call last)" in line or " 500 " in line]

    # -- operator (the admin service's token) ----------------------------------------------
    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}hub/api/{path}", timeout=60,
                                headers={"Authorization": f"token {self.admin_token}"},
                                **kwargs)

    def server_state(self, name: str) -> dict[str, Any] | None:
        """The user's default server model (``ready``, ``pending``), or None when stopped."""
        resp = self.admin("GET", f"users/{name}")
        resp.raise_for_status()
        return resp.json().get("servers", {}).get("")

    def stop_server(self, name: str) -> None:
        """Stop ``name``'s server the way the idle culler does, and wait until it is gone."""
        resp = self.admin("DELETE", f"users/{name}/server")
        assert resp.status_code in (202, 204), resp.text
        wait_until(lambda: self.server_state(name) is None, f"{name}'s server to stop")

    def login(self, name: str) -> HubUser:
        user = HubUser(self, name)
        user.login()
        return user


@dataclass
class HubUser:
    """One browser's session with the Hub: cookies, the user's server, its API."""

    hub: Hub
    name: str
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def server_url(self) -> str:
        return f"{self.hub.url}user/{self.name}/"

    def login(self) -> None:
        page = self.session.get(self.hub.url + "hub/login", timeout=60)
        page.raise_for_status()
        xsrf = self.session.cookies.get("_xsrf", path="/hub/") or _form_xsrf(page.text)
        resp = self.session.post(self.hub.url + "hub/login?next=", timeout=60, data={
            "username": self.name, "password": PASSWORD, "_xsrf": xsrf}, allow_redirects=False)
        assert resp.status_code == 302, f"login of {self.name} failed: {resp.status_code}"

    def start_server(self) -> None:
        """Spawn through the Hub (``/hub/spawn``), then open the server once (OAuth cookie)."""
        self.session.get(self.hub.url + f"hub/spawn/{self.name}", timeout=120)
        wait_until(lambda: (self.hub.server_state(self.name) or {}).get("ready"),
                   f"{self.name}'s server to be ready", timeout=240)
        page = self.session.get(self.server_url, timeout=120)  # the Hub's OAuth, then lab
        assert page.status_code == 200 and "/lab" in page.url, (page.status_code, page.url)
        resp = self.session.get(self.server_url + "api/me", timeout=60)
        resp.raise_for_status()
        assert resp.json()["identity"]["username"] == self.name

    def _xsrf(self) -> str:
        for cookie in self.session.cookies:
            if cookie.name == "_xsrf" and cookie.path.rstrip("/") == f"/user/{self.name}":
                return str(cookie.value)
        self.session.get(self.server_url + "lab", timeout=60)  # sets the server's _xsrf cookie
        for cookie in self.session.cookies:
            if cookie.name == "_xsrf" and cookie.path.rstrip("/") == f"/user/{self.name}":
                return str(cookie.value)
        raise AssertionError(f"no _xsrf cookie for {self.name}'s server")

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        """``<server>/<path>`` with this browser's cookies (and XSRF header for changes)."""
        headers = kwargs.pop("headers", {})
        if method not in ("GET", "HEAD"):
            headers["X-XSRFToken"] = self._xsrf()
        return self.session.request(method, self.server_url + path, json=body, timeout=60,
                                    headers=headers, allow_redirects=False, **kwargs)

    def api(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.call(method, f"astro-ops/api/v1/{path}", body)

    @contextmanager
    def kernel(self) -> Iterator[Kernel]:
        resp = self.call("POST", "api/kernels", {"name": "python3"})
        assert resp.status_code == 201, resp.text
        kernel = Kernel(self, resp.json()["id"])
        try:
            yield kernel
        finally:
            kernel.close()


class Kernel:
    """A kernel of the user's server, driven over its websocket as JupyterLab does."""

    def __init__(self, user: HubUser, kernel_id: str) -> None:
        self.user, self.id = user, kernel_id
        cookies = "; ".join(f"{c.name}={c.value}" for c in user.session.cookies)
        ws_url = user.server_url.replace("http://", "ws://") + f"api/kernels/{kernel_id}/channels"
        self.conn = websocket.create_connection(ws_url, header=[f"Cookie: {cookies}"],
                                                timeout=180)
        self.session = uuid.uuid4().hex

    def execute(self, code: str) -> str:
        """Run ``code``; its stdout and results as text (a failing cell fails the test)."""
        return execute(self.conn, self.session, code, username=self.user.name, timeout=180)[0]

    def close(self) -> None:
        self.conn.close()
        self.user.call("DELETE", f"api/kernels/{self.id}")


def _form_xsrf(html: str) -> str:
    match = re.search(r'name="_xsrf"\s+value="([^"]+)"', html)
    return match.group(1) if match else ""


__all__ = ["DASH", "Hub", "HubUser", "Kernel", "free_port", "wait_until"]
