"""Through the Jupyter proxy in headless Chromium: bob (arcops) signs a column on the Ocat board
and alice's board, open in another browser, shows it without a reload. The ``ui`` fixture
fails the test on any server-side error, console error (in either browser) or outside
request; screenshots in ``ui_tests/artifacts/``."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import Ui, UiServer


def _open_board(ui: Ui, user: str, first: bool = False) -> Page:
    if first:
        ui.open("ocat", user)
        page = ui.page
    else:
        page = ui.another("ocat", user)
    ui.signed_in(f"{user.title()} ({user})", page)
    return page


def _submitted(server: UiServer) -> dict[str, Any]:
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


def test_sign_a_column_and_another_user_sees_it(ui: Ui) -> None:
    revision = _submitted(ui.server)
    label = revision["label"]
    watcher = _open_board(ui, "alice", first=True)
    row = watcher.locator(".tabulator-row", has_text=label).first
    expect(row).to_contain_text("pending", timeout=45_000)
    signer = _open_board(ui, "bob")
    bob_row = signer.locator(".tabulator-row", has_text=label).first
    expect(bob_row).to_be_visible(timeout=45_000)
    bob_row.locator(".tabulator-cell", has_text=label).click()
    expect(signer.get_by_role("button", name="Sign General")).to_be_visible(timeout=20_000)
    # only what bob may press: no verification, no discard, no withdraw
    for name in ("Sign Verification", "Sign off and approve", "Discard", "Withdraw"):
        assert signer.get_by_role("button", name=name).count() == 0, name
    expect(signer.get_by_text("roll <b>please</b>")).to_be_visible()  # escaped, as typed
    ui.shot("ocat-bob-before", signer)
    watcher.evaluate("window.__no_reload_marker = 7")
    signer.get_by_role("button", name="Sign General").click()
    expect(signer.get_by_text(f"Signed General of {label}.")).to_be_visible(timeout=20_000)
    signed = time.monotonic()
    expect(row).to_contain_text("signed (Bob)", timeout=20_000)  # display name
    print(f"\nbob signs -> alice's board shows it: {time.monotonic() - signed:.2f} s")
    assert watcher.evaluate("window.__no_reload_marker") == 7  # same page: no reload
    ui.shot("ocat-bob-after", signer)
    assert not ui.cut_off(watcher), ui.cut_off(watcher)  # every column of the board reads
    ui.shot("ocat-alice-board")
    row.locator(".tabulator-cell", has_text=label).click()
    expect(watcher.get_by_role("button", name="Sign Verification")).to_be_visible(
        timeout=20_000)
    ui.shot("ocat-alice-detail")
    for tab, shot in (("Submit", "ocat-submit"), ("Express approve", "ocat-express"),
                      ("POC rota", "ocat-rota")):
        watcher.get_by_text(tab, exact=True).click()
        watcher.wait_for_timeout(800)
        ui.shot(shot)
