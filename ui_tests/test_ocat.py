"""Through the Jupyter proxy in headless Chromium: bob (arcops) signs a column on the Ocat board
and alice's board, open in another browser, shows it without a reload. No server-side error,
no console error; screenshots in ``ui_tests/artifacts/``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from .conftest import UiServer as Server

ARTIFACTS = Path(__file__).parent / "artifacts"


def _open_board(browser: Browser, server: Server, user: str, errors: list[str]) -> Page:
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    page = context.new_page()

    def on_console(msg: ConsoleMessage) -> None:
        url = str(msg.location.get("url") or "")
        # the browser's own favicon probe: panel serve has none under astro-ops/dash/
        # (shared page scaffolding, reported; not this dashboard's doing)
        if msg.type == "error" and not url.endswith("/astro-ops/dash/favicon.ico"):
            errors.append(f"{user}: {msg.text} at {url}")

    page.on("console", on_console)
    page.on("response", lambda r: errors.append(f"{user}: {r.status} {r.url}")
            if r.status >= 400 else None)
    page.on("pageerror", lambda exc: errors.append(f"{user}: {exc}"))
    page.goto(f"{server.url}astro-ops/dash/ocat?token={server.token(user)}")
    expect(page.get_by_text(f"signed in as {user.title()} ({user})")).to_be_visible(
        timeout=45_000)
    return page


def _submitted(server: Server) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:  # the catalog import runs when the server starts
        resp = server.api("alice", "GET", "ocat/observations")
        observations = resp.json() if resp.ok else []
        candidates = [o for o in observations if o["status"] in ("unobserved", "scheduled")]
        if candidates or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert candidates, "the catalog was not imported"
    obs = candidates[0]
    out = server.api("carol", "POST", "ocat/revisions",
                     json={"obsid": obs["obsid"], "changes": {"roll_obsr": 120.5},
                      "comment": "roll <b>please</b>"})
    assert out.status_code == 201, out.text
    return out.json()["revision"]


def test_sign_a_column_and_another_user_sees_it(server: Server, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    revision = _submitted(server)
    label = revision["label"]
    watcher = _open_board(browser, server, "alice", errors)
    row = watcher.locator(".tabulator-row", has_text=label).first
    expect(row).to_contain_text("pending", timeout=45_000)
    signer = _open_board(browser, server, "bob", errors)
    bob_row = signer.locator(".tabulator-row", has_text=label).first
    expect(bob_row).to_be_visible(timeout=45_000)
    bob_row.locator(".tabulator-cell", has_text=label).click()
    expect(signer.get_by_role("button", name="Sign General")).to_be_visible(timeout=20_000)
    # only what bob may press: no verification, no discard, no withdraw
    for name in ("Sign Verification", "Sign off and approve", "Discard", "Withdraw"):
        assert signer.get_by_role("button", name=name).count() == 0, name
    expect(signer.get_by_text("roll <b>please</b>")).to_be_visible()  # escaped, as typed
    signer.screenshot(path=str(ARTIFACTS / "ocat-bob-before.png"))
    watcher.evaluate("window.__no_reload_marker = 7")
    signer.get_by_role("button", name="Sign General").click()
    expect(signer.get_by_text(f"Signed General of {label}.")).to_be_visible(timeout=20_000)
    signed = time.monotonic()
    expect(row).to_contain_text("signed (bob)", timeout=20_000)
    print(f"\nbob signs -> alice's board shows it: {time.monotonic() - signed:.2f} s")
    assert watcher.evaluate("window.__no_reload_marker") == 7  # same page: no reload
    signer.screenshot(path=str(ARTIFACTS / "ocat-bob-after.png"))
    watcher.screenshot(path=str(ARTIFACTS / "ocat-alice-board.png"))
    row.locator(".tabulator-cell", has_text=label).click()
    expect(watcher.get_by_role("button", name="Sign Verification")).to_be_visible(
        timeout=20_000)
    watcher.screenshot(path=str(ARTIFACTS / "ocat-alice-detail.png"))
    for tab, shot in (("Submit", "ocat-submit"), ("Express approve", "ocat-express"),
                      ("POC rota", "ocat-rota")):
        watcher.get_by_text(tab, exact=True).click()
        watcher.wait_for_timeout(800)
        watcher.screenshot(path=str(ARTIFACTS / f"{shot}.png"))
    assert errors == []
    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]
    assert " 500 " not in log, log[-4000:]
