"""Through the Jupyter proxy in headless Chromium: the landing page and the page template."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import Ui


def test_the_index_shows_live_cards_and_links_every_dashboard(ui: Ui) -> None:
    made = ui.server.api("bob", "POST", "activity",
                         json={"kind": "project.create", "name": "Index Card Survey"})
    assert made.status_code == 201, made.text
    ui.open("", "alice")
    page = ui.page
    expect(page.get_by_text("Signed in as Alice (alice)")).to_be_visible(timeout=45_000)
    expect(page.get_by_text(re.compile("waiting for you")).first).to_be_visible(timeout=20_000)
    for figure in (r"requests? waiting for you", r"bookings? of yours this week",
                   r"jobs? of yours running or queued", r"revisions? waiting for your sign-off",
                   r"uncovered shifts? this week"):  # one live figure per card
        expect(page.get_by_text(re.compile(figure)).first).to_be_visible(timeout=20_000)
    assert not ui.cut_off(), ui.cut_off()
    ui.shot("index")
    for title, name in (("Activity", "activity"), ("Calendar", "calendar"), ("Ocat", "ocat"),
                        ("People Planner", "planner"), ("Staging", "staging")):
        page.get_by_role("link", name=f"Open {title}").click()
        expect(page.get_by_text("Signed in as Alice (alice)")).to_be_visible(timeout=60_000)
        assert page.url.split("?")[0].endswith(f"/astro-ops/dash/{name}")
        page.go_back()
        expect(page.get_by_role("link", name=f"Open {title}")).to_be_visible(timeout=60_000)
