"""Through the Jupyter proxy in headless Chromium: the Calendar dashboard."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from .conftest import Ui


def _tomorrow(hour: int) -> str:
    day = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1, hours=hour)).isoformat()


def test_selecting_a_row_raises_nothing_on_the_server(ui: Ui) -> None:
    booked = ui.server.api("bob", "POST", "calendar/reservations", json={
        "site": "saf", "start": _tomorrow(2), "end": _tomorrow(5), "title": "Bob's M31 night"})
    assert booked.status_code == 201, booked.text
    ui.open("calendar", "alice")
    cell = ui.page.locator(".tabulator-cell", has_text="Bob's M31 night").first
    expect(cell).to_be_visible(timeout=45_000)
    cell.click()
    ui.page.wait_for_timeout(1500)
    ui.shot("calendar-selected")
