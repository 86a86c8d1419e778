"""Through the Jupyter proxy in headless Chromium: the Calendar dashboard.

Carol selects Bob's booking (the server must log no ``RuntimeError``: Bokeh models change only
in the document's own callbacks), types ISO times for a slot that clashes with it (the
preview says so and Book stays disabled), moves the slot until it is free and books it. The
``ui`` fixture fails the test on any server-side error, console error or outside request.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from playwright.sync_api import Page, expect

from .conftest import Ui

DAY = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                                microsecond=0)


def _at(hour: int) -> datetime:
    return DAY + timedelta(hours=hour)


def _type_instant(page: Page, label: str, when: datetime) -> None:
    field = page.get_by_label(label)
    field.fill(when.strftime("%Y-%m-%dT%H:%MZ"))  # ISO 8601 as typed, with a Z
    field.press("Enter")


def test_book_with_the_conflict_preview(ui: Ui) -> None:
    booked = ui.server.api("bob", "POST", "calendar/reservations", json={
        "site": "saf", "start": _at(2).isoformat(), "end": _at(5).isoformat(),
        "title": "Bob's M31 night"})
    assert booked.status_code == 201, booked.text
    ui.open("calendar", "carol")  # no calendar role: Bob's booking is read-only for her
    page = ui.page
    ui.signed_in("Carol (carol)")
    if DAY.weekday() == 0:  # tomorrow is in next week's view
        page.get_by_role("button", name="▶").click()
    cell = page.locator(".tabulator-cell", has_text="Bob's M31 night").first
    expect(cell).to_be_visible(timeout=45_000)
    row = page.locator(".tabulator-row", has_text="Bob's M31 night").first
    expect(row).to_contain_text("Santa Fe Observatory (saf)")  # names, not codes
    expect(row).to_contain_text("Bob")
    cell.click()  # defect 2: this raised RuntimeError on the server
    expect(page.get_by_text("read-only for you").first).to_be_visible(timeout=15_000)
    assert not ui.cut_off(), ui.cut_off()
    ui.shot("calendar-selected")

    page.get_by_role("button", name="New booking").click()
    page.get_by_label("Site").click()
    page.locator("li").filter(has_text=re.compile(r"^Santa Fe Observatory \(saf\)$")).click()
    _type_instant(page, "Start (UTC)", _at(3))
    _type_instant(page, "End (UTC)", _at(4))
    expect(page.get_by_text("In the way: 1 reservation(s).")).to_be_visible(timeout=15_000)
    expect(page.get_by_role("button", name="Book", exact=True)).to_be_disabled()
    expect(page.get_by_text("The slot is free.")).to_have_count(0)
    ui.shot("calendar-conflict")

    _type_instant(page, "Start (UTC)", _at(6))
    _type_instant(page, "End (UTC)", _at(7))
    expect(page.get_by_text("The slot is free.")).to_be_visible(timeout=15_000)
    book = page.get_by_role("button", name="Book", exact=True)
    expect(book).to_be_enabled()
    book.click()
    expect(page.get_by_text("Booked Carol at Santa Fe Observatory (saf)")).to_be_visible(
        timeout=15_000)
    mine = page.locator(".tabulator-row", has_text="You").first
    expect(mine).to_be_visible(timeout=15_000)
    # the new booking is selected: the form is about it, not a free slot to book again
    expect(page.get_by_text("Your booking fits: nothing else is in the way.")).to_be_visible(
        timeout=15_000)
    expect(book).to_be_disabled()
    expect(page.get_by_role("button", name="Save changes")).to_be_enabled()
    assert not ui.cut_off(), ui.cut_off()
    ui.shot("calendar-booked")
    stored = ui.server.api("carol", "GET", "calendar/reservations", params={
        "site": "saf", "start": _at(0).isoformat(), "end": _at(24).isoformat()}).json()
    assert sorted((r["title"], r["start"][11:16]) for r in stored) == [
        ("Bob's M31 night", "02:00"), ("Carol", "06:00")]


def test_an_empty_week_says_what_to_do(ui: Ui) -> None:
    ui.open("calendar", "bob")
    page = ui.page
    ui.signed_in("Bob (bob)")
    for _ in range(3):  # far enough ahead to be empty
        page.get_by_role("button", name="▶").click()
    expect(page.get_by_text("No reservations in this week")).to_be_visible(timeout=20_000)
    ui.shot("calendar-empty")
