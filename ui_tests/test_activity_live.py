"""Through the Jupyter proxy in headless Chromium: the Activity dashboard.

A request filed over REST appears live; the admin selects it, reads it in words (no ids, no
raw flags), approves it and watches the worker carry it out, with no stale notice. The login
cookie identifies the user; no login leads to Jupyter's login page. Every test with ``ui``
also fails on any server-side error, console error or request leaving the local server.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .conftest import Ui, UiServer


def test_approve_a_request_that_appeared_live(ui: Ui) -> None:
    seeded = ui.server.api("bob", "POST", "activity",
                           json={"kind": "project.create", "name": "Seed Survey"})
    assert seeded.status_code == 201, seeded.text
    ui.open("activity", "alice")
    page = ui.page
    ui.signed_in("Alice (alice)")
    expect(page.locator(".tabulator-cell", has_text="Request: create project Seed Survey")
           .first).to_be_visible(timeout=45_000)
    page.evaluate("window.__no_reload_marker = 42")

    created = ui.server.api("carol", "POST", "activity",
                            json={"kind": "project.create", "name": "Live Feed Survey"})
    assert created.status_code == 201, created.text
    row = page.locator(".tabulator-row", has_text="Live Feed Survey").first
    expect(row).to_be_visible(timeout=20_000)  # live, no reload
    assert page.evaluate("window.__no_reload_marker") == 42
    assert not ui.cut_off(), ui.cut_off()
    ui.shot("activity-live")

    row.locator(".tabulator-cell", has_text="Live Feed Survey").click()
    expect(page.get_by_text("Decide this request")).to_be_visible(timeout=15_000)
    page.get_by_role("textbox", name="Message to the requester").fill("go ahead")
    page.get_by_role("button", name="Approve").click()
    notice = page.get_by_text("Approved the request of Carol: Request: create project Live "
                              "Feed Survey.")
    expect(notice).to_be_visible(timeout=15_000)
    # the worker carries it out; the row and the details follow, the notice has no status
    expect(row).to_contain_text("SUCCESS", timeout=30_000)
    expect(page.get_by_text(re.compile(r"Status SUCCESS"))).to_be_visible(timeout=15_000)
    body = page.locator("body").inner_text()
    assert "attempt 1 by worker" not in body  # internal bookkeeping stays hidden
    assert "NaN" not in body and "REQ PROJECT" not in body
    assert not re.search(r"\b[0-9a-f]{32}\b", page.locator(".tabulator").first.inner_text())
    assert not ui.cut_off(), ui.cut_off()
    ui.shot("activity-approved")
    event = ui.server.api("alice", "GET", f"activity/{created.json()['id']}").json()
    assert any(e["message"] == "approved by alice: go ahead" for e in event["log"])

    page.get_by_label("Status", exact=True).click()  # the Status filter: PENDING only
    page.locator("li").filter(has_text=re.compile(r"^PENDING$")).click()
    page.keyboard.press("Escape")
    expect(page.get_by_text("Decide this request")).to_have_count(0, timeout=10_000)
    expect(page.get_by_text("Select a row to see the event's details")).to_be_visible()


def test_login_cookie_identifies_the_user(server: UiServer, page: Page) -> None:
    """Logged in through Jupyter's form (cookie only, no token in the URL): bob, not alice."""
    page.set_default_navigation_timeout(90_000)
    page.goto(f"{server.url}login")
    page.fill("input[name=password]", server.token("bob"))
    page.locator("#login_submit, button[type=submit], input[type=submit]").first.click()
    page.wait_for_load_state()
    page.goto(server.dash_url("activity"))
    expect(page.get_by_text("Signed in as Bob (bob)")).to_be_visible(timeout=60_000)
    expect(page.locator(".tabulator-cell", has_text="bob").first).to_be_visible(timeout=20_000)
    assert page.locator(".tabulator-cell", has_text="carol").count() == 0


def test_no_login_is_sent_to_the_jupyter_login(server: UiServer, page: Page) -> None:
    page.goto(server.dash_url("activity"))
    assert "/astro/login" in page.url
