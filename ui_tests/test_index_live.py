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
    ui.shot("index")
    for title in ("Activity", "Calendar", "Staging"):
        page.get_by_role("link", name=f"Open {title}").click()
        expect(page.get_by_text("Signed in as Alice (alice)")).to_be_visible(timeout=30_000)
        assert page.url.split("?")[0].endswith(f"/astro-ops/dash/{title.lower()}")
        page.go_back()
