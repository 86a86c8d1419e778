"""Browser-test fixtures: one real ``jupyter server`` (``tests.live.LiveServer``) with the
dashboards behind jupyter-server-proxy, and Debian's headless Chromium at 1400x900.

Kept apart from ``tests/`` on purpose: pytest-playwright and pytest-jupyter's event loops clash
in one session, so this directory has its own ``pytest.ini`` (rootdir) and never loads
``pytest_jupyter``. Never run ``playwright install``: the system Chromium is used.

Every test that uses ``ui`` fails when, during the test,

* the Jupyter server's log (where the proxied ``panel serve`` writes too) gained an error or a
  traceback,
* the page logged a console error or an uncaught exception, or got a 4xx/5xx answer
  (``favicon.ico`` included),
* the page sent a request anywhere but the local server (no CDN, no fonts from outside).

``ui.shot(name)`` saves a screenshot to ``ui_tests/artifacts/<name>.png`` (git-ignored) for a
reviewer to look at without running anything. JupyterLab with the labextension has its own
server (``lab_support``: ``lab``, ``lab_page``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import ConsoleMessage, Page, Request, Response, expect

from jupyter_astro_ops.ocat.synthetic import synthetic_catalog, write_catalog
from tests.live import LiveServer

from .lab_support import lab, lab_page  # noqa: F401 - fixtures of test_labextension.py

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update",
                 "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
ARTIFACTS = Path(__file__).parent / "artifacts"
USERS = {
    "alice": ("ui-tok-alice-0001", ["ops-leads"]),
    "bob": ("ui-tok-bob-000002", ["arcops"]),
    "carol": ("ui-tok-carol-0003", []),
}
ROLES = {"admin": ["group:ops-leads"], "stager": ["bob", "carol"],
         "arcops": ["group:arcops"], "usint": ["carol"]}  # test_ocat.py
# a long site name: the calendar's table must wrap it, not cut it (``Ui.cut_off``)
SITES = {"saf": {"name": "Santa Fe Observatory", "timezone": "America/Denver"},
         "mrc": {"name": "Mars Hill", "timezone": "America/Phoenix"}}
# What a server log line reporting a problem looks like: Jupyter's "[E ..." and "[C ...",
# Python's tracebacks and logging "ERROR"/"CRITICAL", asyncio's "Task was destroyed".
LOG_PROBLEM = re.compile(r"^\[[EC] |Traceback \(most recent call last\)|\bERROR\b|\bCRITICAL\b"
                         r"|Task was destroyed|Exception in callback|RuntimeError", re.M)
# Known upstream noise, not ours: when a page is left while panel still sends, the proxy's
# message_cb writes to the browser's closed websocket and tornado logs WebSocketClosedError
# (jupyter-server-proxy's handlers.py; see jupyterhub/jupyter-server-proxy and
# rapidsai/jupyterlab-nvdashboard#28), and panel's ``_dispatch_msgs`` logs the same closed
# socket as a task exception. Only exactly these three tracebacks are forgiven.
PROXY_CLOSED = [
    re.compile(r"^\[E [^\]]*\] Uncaught exception\n(?:    .*\n)*?"
               r"(?=(?:    .*\n)*?    .*jupyter_server_proxy/handlers\.py)(?:    .*\n)*?"
               r"    tornado\.websocket\.WebSocketClosedError\n", re.M),
    re.compile(r"^.*Task exception was never retrieved\nfuture: <Task finished name='[^']*' "
               r"coro=<WebSocketProtocol13\.write_message\.<locals>\.wrapper\(\).*"
               r"exception=WebSocketClosedError\(\)>\n(?:.*\n)*?"
               r"tornado\.websocket\.WebSocketClosedError\n", re.M),
    # panel's own sender, when the page goes while it still dispatches a change to it
    re.compile(r"^.*Task exception was never retrieved\nfuture: <Task finished name='[^']*' "
               r"coro=<_dispatch_msgs\(\) done, defined at .*panel/io/document\.py:\d+> "
               r"exception=WebSocketClosedError\(\)>\n(?:.*\n)*?"
               r"tornado\.websocket\.WebSocketClosedError\n", re.M),
]


def log_problems(text: str) -> list[str]:
    """Lines of ``text`` (a stretch of the server log) that report a problem."""
    for benign in PROXY_CLOSED:
        text = benign.sub("", text)
    return [line for line in text.splitlines() if LOG_PROBLEM.search(line)]


class UiServer(LiveServer):
    """``LiveServer`` that registers the proxy entry by config when setup.py does not."""

    def write_config(self) -> Path:
        cfg_dir = super().write_config()
        from jupyter_astro_ops.dashboards.proxy import PROXY_NAME

        if PROXY_NAME not in {ep.name for ep in entry_points(group="jupyter_serverproxy_servers")}:
            with (cfg_dir / "jupyter_server_config.py").open("a") as cfg:
                cfg.write("from jupyter_astro_ops.dashboards.proxy import proxy_entry\n"
                          f"c.ServerProxy.servers = {{{PROXY_NAME!r}: proxy_entry()}}\n")
        return cfg_dir

    def dash_url(self, path: str = "", user: str | None = None) -> str:
        """``<base>astro-ops/dash/<path>``, logged in as ``user`` through ``?token=``."""
        url = f"{self.url}astro-ops/dash/{path}"
        return f"{url}?token={self.token(user)}" if user else url

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")


def make_archive(top: Path) -> None:
    """The staging root of the tests: a directory of three frames and a single file."""
    for name, size in (("frame001.fits", 3 << 20), ("frame002.fits", 3 << 20),
                       ("obslog.txt", 120)):
        (top / "night1").mkdir(parents=True, exist_ok=True)
        (top / "night1" / name).write_bytes(bytes(range(256)) * (size // 256) or b"x" * size)
    (top / "README.txt").write_text("UI-test archive.\n")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium",
            "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    root = tmp_path_factory.mktemp("jupyter")
    make_archive(root / "archive")
    (root / "scratch").mkdir()
    roots = {"archive": {"url": (root / "archive").as_uri(), "roles": ["stager"],
                         "description": "Raw frames of the UI-test nights."},
             "scratch": {"url": (root / "scratch").as_uri(), "writable": True,
                         "roles": ["stager"], "description": "Writable scratch space."}}
    live = UiServer(root=root, users=USERS, roles=ROLES, db_url=f"sqlite:///{root}/astro.db",
                    proxy=True, config={
                        "CalendarService": {"sites": SITES},
                        "StagingService": {"roots": roots, "progress_interval": 0.2},
                        "FeedHub": {"poll_interval": 0.3},
                        "RequestWorker": {"poll_interval": 0.5},
                        # test_ocat.py: a small synthetic catalog, imported at start-up
                        "OcatImporter": {"source": write_catalog(
                            synthetic_catalog(40), (root / "ocat.json").as_uri())}})
    live.start()
    try:
        # the first request spawns panel serve behind the proxy (slow on a loaded 2-core box):
        # pay it once here, not inside the first test's page load
        requests.get(live.dash_url("", "alice"), timeout=180)
        yield live
    finally:
        live.stop()
    # what the server said while shutting down (the proxied panel included) counts too
    shutdown = live.log_path.read_text(errors="replace").rsplit("Received signal", 1)[-1]
    assert not log_problems(shutdown), f"problems at shutdown:\n{shutdown[-6000:]}"


@dataclass
class Ui:
    """A checked browser page on the live server (see the module docstring)."""

    page: Page
    server: UiServer
    origin: str
    problems: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    others: list[Page] = field(default_factory=list)

    def open(self, path: str = "", user: str = "alice") -> None:
        self.page.goto(self.server.dash_url(path, user))

    def another(self, path: str, user: str) -> Page:
        """A second browser (its own cookies) as ``user`` on ``path``, checked the same way."""
        browser = self.page.context.browser
        assert browser is not None
        other = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
        other.set_default_navigation_timeout(90_000)
        self.watch(other)
        self.others.append(other)
        other.goto(self.server.dash_url(path, user))
        return other

    def watch(self, page: Page) -> None:
        page.on("console", self.on_console)
        page.on("pageerror", self.on_page_error)
        page.on("request", self.on_request)
        page.on("response", self.on_response)

    def signed_in(self, label: str, page: Page | None = None) -> None:
        """Wait until the page's app bar names ``label`` (``Alice (alice)``)."""
        expect((page or self.page).get_by_text(f"Signed in as {label}")).to_be_visible(
            timeout=60_000)

    def cut_off(self, page: Page | None = None) -> list[str]:
        """The texts of table headers and cells that do not fit (shown cut, with "...")."""
        return list((page or self.page).locator(
            ".tabulator-col-title, .tabulator-cell").evaluate_all(
            "els => els.filter(e => e.scrollWidth > e.clientWidth + 1 && e.textContent.trim())"
            ".map(e => e.textContent.trim())"))

    def shot(self, name: str, page: Page | None = None) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        target = ARTIFACTS / f"{name}.png"
        (page or self.page).screenshot(path=str(target), full_page=True)
        return target

    # -- listeners ---------------------------------------------------------------------------
    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.problems.append(f"console error: {msg.text} ({msg.location.get('url')})")

    def on_page_error(self, exc: Any) -> None:
        self.problems.append(f"uncaught page exception on {self.page.url}: {exc}\n"
                             f"{getattr(exc, 'stack', '')}")

    def on_request(self, req: Request) -> None:
        if not req.url.startswith((self.origin, "data:", "blob:")):
            self.outside.append(req.url)

    def on_response(self, resp: Response) -> None:
        if resp.status >= 400:
            self.problems.append(f"HTTP {resp.status} for {resp.url}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so ``ui`` can tell that the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def ui(server: UiServer, page: Page, request: pytest.FixtureRequest) -> Iterator[Ui]:
    """The page, watched; fails the test on any problem seen while it ran."""
    split = urlsplit(server.url)
    checked = Ui(page, server, f"{split.scheme}://{split.netloc}")
    page.set_default_navigation_timeout(90_000)
    checked.watch(page)
    (ARTIFACTS / f"failed-{request.node.name}.png").unlink(missing_ok=True)  # a past failure
    offset = server.log_size()
    yield checked
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:  # what the page showed when the test failed
        checked.shot(f"failed-{request.node.name}")
    for other in checked.others:
        other.context.close()
    page.close()  # end the Panel session inside the test, so its teardown is checked too
    time.sleep(0.5)  # let the server log what the closed session's teardown does
    log = server.log_since(offset)
    failures = [f"request left the local server: {url}" for url in checked.outside]
    failures += checked.problems
    if log_problems(log):
        failures.append("the server logged problems:\n" + "\n".join(log_problems(log))
                        + "\n--- log of the test ---\n" + log[-8000:])
    assert not failures, "\n".join(failures)
