"""Through the Jupyter proxy in headless Chromium: edit your own planner cell (with the
service's validation message first), then see another user's change appear live.

The test starts its own ``jupyter server`` (the shared helpers of ``conftest``) so that it
can read that server's log: any traceback or server-side error there fails the test, and so
does any console error in the page. Screenshots go to ``ui_tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from .conftest import UiServer

ARTIFACTS = Path(__file__).parent / "artifacts"
STAFF = {"bob": ("Bob Night", "Operations", ["night_attendant"]),
         "carol": ("Carol Assist", "Operations", ["observing_assistant"]),
         "alice": ("Alice Ops", "Science", ["staff_astronomer"])}
ERROR_MARKERS = ("Traceback (most recent call last)", "[E ", " ERROR ", "Uncaught exception")


@pytest.fixture(scope="module")
def planner_server(server: UiServer) -> UiServer:
    for name, (display, dept, roles) in STAFF.items():
        resp = server.api("alice", "PUT", f"planner/employees/{name}",
                          json={"display_name": display, "department": dept, "roles": roles})
        assert resp.status_code in (200, 201), resp.text
    return server


def _server_errors(log: Path) -> list[str]:
    text = log.read_text(errors="replace")
    return [line for line in text.splitlines() if any(m in line for m in ERROR_MARKERS)]


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"planner-{name}.png"), full_page=True)


def test_edit_own_cell_and_see_another_users_change_live(planner_server: UiServer,
                                                        page: Page) -> None:
    server = planner_server
    console: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            console.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: console.append(f"page error: {exc}"))
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(server.url))
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    failed: list[str] = []
    page.on("response", lambda resp: failed.append(f"{resp.status} {resp.url}")
            if resp.status >= 400 else None)
    page.set_viewport_size({"width": 1600, "height": 1000})

    started = time.monotonic()
    page.goto(f"{server.url}astro-ops/dash/?token={server.token('bob')}")
    page.get_by_role("link", name="People Planner").click(timeout=30_000)
    expect(page.get_by_text("signed in as Bob (bob)")).to_be_visible(timeout=30_000)
    mine = page.locator(".tabulator-row", has_text="Bob Night").first
    expect(mine).to_be_visible(timeout=45_000)
    print(f"\nplanner grid rendered: {time.monotonic() - started:.2f} s")
    expect(page.locator(".pp-gap").first).to_be_visible()  # uncovered nights are red
    _shot(page, "week")
    page.evaluate("window.__no_reload_marker = 7")

    today = date.today()
    label = f"{today:%a %d %b}"
    mine.locator(f'.tabulator-cell[tabulator-field="{label}"]').click()
    expect(page.get_by_text("Edit your day")).to_be_visible(timeout=10_000)
    page.get_by_role("combobox", name="Block 1").select_option("WFH")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Working from home (WFH) needs a note")).to_be_visible(
        timeout=10_000)  # the service's own validation message
    _shot(page, "refused")
    page.locator("textarea").fill("cell 555-0100")
    page.locator("textarea").press("Tab")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved: Bob Night")).to_be_visible(timeout=15_000)
    expect(mine.locator(".pp-stored", has_text="WFH")).to_be_visible(timeout=15_000)
    stored = server.api("bob", "GET", f"planner/entries?start={today}&user=bob").json()
    assert [b["location"] for b in stored[0]["blocks"]] == ["WFH"]
    assert stored[0]["note"] == "cell 555-0100"

    posted = time.monotonic()
    resp = server.api("carol", "POST", "planner/entries", json={
        "start_date": today.isoformat(),
        "blocks": [{"location": "Hilo", "start": "09:00", "end": "11:30"}]})
    assert resp.status_code == 201, resp.text
    carol = page.locator(".tabulator-row", has_text="Carol Assist").first
    expect(carol.locator(".pp-stored", has_text="Hilo 09:00-11:30")).to_be_visible(
        timeout=20_000)
    print(f"REST POST by carol -> visible in bob's grid: {time.monotonic() - posted:.2f} s")
    assert page.evaluate("window.__no_reload_marker") == 7  # same page: no reload
    carol.locator(f'.tabulator-cell[tabulator-field="{label}"]').click()
    expect(page.get_by_text("read-only for you")).to_be_visible(timeout=10_000)
    page.get_by_role("button", name="month").click()
    month_label = f"{today:%a}"[0] + f"{today:%d}"
    expect(page.locator(f'.tabulator-col[tabulator-field="{month_label}"]')).to_be_visible(
        timeout=15_000)
    expect(mine.locator(".pp-stored", has_text="WFH")).to_be_visible()
    _shot(page, "month")

    outside = [u for u in requested if not u.startswith((origin, "data:", "blob:"))]
    assert outside == [], f"requests left the local server: {outside}"
    # the browser's own favicon probe is the one 404 a page may cause; anything else fails
    failed = [f for f in failed if not f.endswith("/favicon.ico")]
    console = [c for c in console if "404" not in c or failed]
    assert failed == [], f"failed requests: {failed}"
    assert console == [], f"console errors: {console}"
    assert _server_errors(server.log_path) == [], "\n".join(_server_errors(server.log_path))
