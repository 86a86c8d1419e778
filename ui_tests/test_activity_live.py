"""Through the Jupyter proxy in headless Chromium: a request created over REST appears live."""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from .conftest import UiServer as Server


def test_new_event_appears_without_reload(server: Server, page: Page) -> None:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(server.url))
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    seeded = server.api("bob", "POST", "activity",
                        json={"kind": "project.create", "name": "Seed Survey"})
    assert seeded.status_code == 201, seeded.text

    started = time.monotonic()
    # the index page (with the token once; Jupyter then sets its login cookie) links Activity
    page.goto(f"{server.url}astro-ops/dash/?token={server.token('alice')}")
    page.get_by_role("link", name="Activity").click(timeout=30_000)
    expect(page.get_by_text("signed in as Alice (alice)")).to_be_visible(timeout=30_000)
    print(f"\nfirst page (panel spawned by the proxy): {time.monotonic() - started:.2f} s")
    # generous: on a loaded 2-core CI box the first session's load and render can be slow
    expect(page.locator(".tabulator-cell", has_text="bob").first).to_be_visible(timeout=45_000)
    print(f"table rendered: {time.monotonic() - started:.2f} s")
    page.evaluate("window.__no_reload_marker = 42")

    posted = time.monotonic()
    created = server.api("carol", "POST", "activity",
                         json={"kind": "project.create", "name": "Live Feed Survey"})
    assert created.status_code == 201, created.text
    expect(page.locator(".tabulator-cell", has_text="carol").first).to_be_visible(timeout=20_000)
    print(f"REST POST -> row visible in the browser: {time.monotonic() - posted:.2f} s")
    assert page.evaluate("window.__no_reload_marker") == 42  # same page: no reload

    # approve it from the dashboard: the decision goes through the service, the row follows
    row = page.locator(".tabulator-row", has_text="carol").first
    row.locator(".tabulator-cell", has_text="carol").click()
    expect(page.get_by_text("Decide this request")).to_be_visible(timeout=10_000)
    page.locator("textarea").fill("go ahead")
    page.get_by_role("button", name="Approve").click()
    expect(row).not_to_contain_text("PENDING", timeout=15_000)
    expect(page.get_by_text("Approved request")).to_be_visible(timeout=10_000)
    if os.environ.get("ASTRO_OPS_UI_SHOTS"):  # optional screenshot for humans
        page.screenshot(path=os.path.join(os.environ["ASTRO_OPS_UI_SHOTS"], "activity.png"))
    event = server.api("alice", "GET", f"activity/{created.json()['id']}").json()
    assert any(e["message"] == "approved by alice: go ahead" for e in event["log"])
    # the Jupyter server's worker carries the approval out; the page follows that too
    expect(row).to_contain_text("SUCCESS", timeout=20_000)

    outside = [u for u in requested if not u.startswith((origin, "data:", "blob:"))]
    assert outside == [], f"requests left the local server: {outside}"


def test_login_cookie_identifies_the_user(server: Server, page: Page) -> None:
    """Logged in through Jupyter's form (cookie only, no token in the URL): bob, not alice."""
    page.goto(f"{server.url}login")
    page.fill("input[name=password]", server.token("bob"))
    page.locator("#login_submit, button[type=submit], input[type=submit]").first.click()
    page.wait_for_load_state()
    page.goto(f"{server.url}astro-ops/dash/activity")
    expect(page.get_by_text("signed in as Bob (bob)")).to_be_visible(timeout=30_000)
    # bob sees his own request but not carol's
    expect(page.locator(".tabulator-cell", has_text="bob").first).to_be_visible(timeout=20_000)
    assert page.locator(".tabulator-cell", has_text="carol").count() == 0


def test_no_login_is_sent_to_the_jupyter_login(server: Server, page: Page) -> None:
    page.goto(f"{server.url}astro-ops/dash/activity")
    assert "/astro/login" in page.url
