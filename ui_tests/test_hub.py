"""Through a real JupyterHub in headless Chromium: the Hub login page, then a dashboard.

alice logs in on the Hub's own login page and starts her server from the Hub's home page;
``/user/alice/astro-ops/dash/activity`` sends her to the dashboards' Hub service (one Panel
process for every user, behind the Hub's OAuth); she sees obs1's request there under obs1's
name, approves it, and the worker service carries it out while she watches. The test fails on
any console error and on any traceback in the Hub's log (servers and services included).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.hub.hub import DASH, PASSWORD, PROXY, Hub

from .conftest import ARTIFACTS

GROUPS = {"ops-leads": ["alice"], "arcops": ["obs1"]}
ROLES = {"admin": ["group:ops-leads"], "stager": ["group:arcops"]}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    if not PROXY.exists():
        pytest.fail(f"configurable-http-proxy is missing ({PROXY}): run `make hub-proxy`")
    root = tmp_path_factory.mktemp("hub")
    hub = Hub(root, f"sqlite:///{root / 'astro_ops.db'}", GROUPS, ROLES, dashboards=True,
              astro_config={"RequestWorker": {"poll_interval": 0.5}})
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
    assert hub.server_errors() == [], "\n".join(hub.server_errors()[:20])


def test_hub_login_then_a_dashboard_under_the_users_url(hub: Hub, page: Page) -> None:
    obs1 = hub.login("obs1")
    obs1.start_server()
    asked = obs1.api("POST", "activity", {"kind": "project.create", "name": "Hub Survey"})
    assert asked.status_code == 201, asked.text

    shots = ARTIFACTS / "hub"
    shots.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(
        f"console: {m.text} @ {m.location.get('url')} on {page.url}"))
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
    page.set_viewport_size({"width": 1400, "height": 900})

    page.goto(hub.url + "hub/login")
    page.locator("#username_input").fill("alice")
    page.locator("#password_input").fill(PASSWORD)
    page.locator("#login_submit").click()
    page.wait_for_url(re.compile(r"/hub/(home|spawn|spawn-pending)"), timeout=60_000)
    if "/hub/home" in page.url:
        page.locator("#start").click()
    page.wait_for_url(re.compile(r"/user/alice/lab"), timeout=240_000)
    page.screenshot(path=str(shots / "01-lab.png"))

    page.goto(hub.url + "user/alice/astro-ops/dash/activity")
    page.wait_for_url(re.compile(f"/services/{DASH}/activity"), timeout=60_000)
    expect(page.get_by_text("alice").first).to_be_visible(timeout=60_000)
    row = page.locator(".tabulator-row", has_text="obs1").first
    expect(row).to_be_visible(timeout=60_000)
    expect(row).to_contain_text("PENDING")
    page.screenshot(path=str(shots / "02-activity.png"))

    row.locator(".tabulator-cell", has_text="obs1").click()
    expect(page.get_by_text("Decide this request")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Approve").click(timeout=30_000)
    expect(row).to_contain_text("SUCCESS", timeout=60_000)  # the worker service did it
    page.screenshot(path=str(shots / "03-approved.png"))
    event = obs1.api("GET", f"activity/{asked.json()['id']}").json()
    assert event["status"] == "SUCCESS"
    assert any("approved by alice" in (e.get("message") or "") for e in event["log"])
    assert errors == [], "\n".join(errors)
