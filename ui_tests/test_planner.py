"""Through the Jupyter proxy in headless Chromium: edit your own planner cell (with the
service's validation message first), then see another user's change appear live.

The ``ui`` fixture fails the test on any server-side error or traceback, any console error
and any request that leaves the local server. Screenshots go to ``ui_tests/artifacts/``.
"""

from __future__ import annotations

import re
import time
from datetime import date

import pytest
from playwright.sync_api import expect

from .conftest import Ui, UiServer

# carol works from Kona by default: the widest default chip ("Kona 08:00-17:00", "Kona")
STAFF = {"bob": ("Bob Night", "Operations", ["night_attendant"], "HQ"),
         "carol": ("Carol Assist", "Operations", ["observing_assistant"], "Kona"),
         "alice": ("Alice Ops", "Science", ["staff_astronomer"], "HQ")}


@pytest.fixture(scope="module")
def planner_server(server: UiServer) -> UiServer:
    for name, (display, dept, roles, where) in STAFF.items():
        resp = server.api("alice", "PUT", f"planner/employees/{name}",
                          json={"display_name": display, "department": dept, "roles": roles,
                                "primary_location": where})
        assert resp.status_code in (200, 201), resp.text
    return server


def test_edit_own_cell_and_see_another_users_change_live(planner_server: UiServer,
                                                        ui: Ui) -> None:
    server = planner_server
    page = ui.page
    started = time.monotonic()
    ui.open("planner", "bob")
    ui.signed_in("Bob (bob)")
    mine = page.locator(".tabulator-row", has_text="Bob Night").first
    expect(mine).to_be_visible(timeout=45_000)
    print(f"\nplanner grid rendered: {time.monotonic() - started:.2f} s")
    expect(page.locator(".pp-gap").first).to_be_visible()  # uncovered nights are red
    assert not ui.cut_off(), ui.cut_off()  # long names wrap; chips fit their days
    ui.shot("planner-week")
    page.evaluate("window.__no_reload_marker = 7")

    today = date.today()
    label = f"{today:%a %d %b}"
    mine.locator(f'.tabulator-cell[tabulator-field="{label}"]').click()
    expect(page.get_by_text("Edit your day")).to_be_visible(timeout=10_000)
    page.get_by_label("Block 1").click()  # a Material select: open it, pick the option
    page.locator("li").filter(has_text=re.compile(r"^WFH$")).click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Working from home (WFH) needs a note")).to_be_visible(
        timeout=10_000)  # the service's own validation message
    ui.shot("planner-refused")
    note = page.get_by_label("Note")
    note.fill("cell 555-0100")
    note.press("Tab")
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
    # a month is wider than the page: it scrolls sideways rather than cutting its headers
    # ("M07" to "M") and badges ("0/1" to "0/")
    assert not ui.cut_off(), ui.cut_off()
    holder = page.locator(".tabulator-tableholder").first
    assert holder.evaluate("h => h.scrollWidth > h.clientWidth")
    ui.shot("planner-month")
    page.get_by_role("button", name="day", exact=True).click()
    expect(mine.locator(".pp-stored", has_text="Working from home 08:00-17:00 · cell 555-0100")
           ).to_be_visible(timeout=15_000)
    assert not ui.cut_off(), ui.cut_off()
    ui.shot("planner-day")

