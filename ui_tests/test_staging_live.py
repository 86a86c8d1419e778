"""Through the Jupyter proxy in headless Chromium: the Staging dashboard.

Carol (a stager) reads the root's description, selects a folder (its size and file count
appear), stages it into her working directory and watches the job finish live; the "Queued"
notice goes once the job moved on and the log is readable. The ``ui`` fixture fails the test
on any server-side error, console error or outside request.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import Ui


def test_stage_a_folder_and_watch_it_finish(ui: Ui) -> None:
    ui.open("staging", "carol")
    page = ui.page
    ui.signed_in("Carol (carol)")
    expect(page.get_by_text("Raw frames of the UI-test nights.")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("No jobs yet: pick a folder on the left")).to_be_visible()
    folder = page.locator(".tabulator-cell", has_text="night1/").first
    expect(folder).to_be_visible(timeout=30_000)
    folder.click()
    expect(page.get_by_text("To stage: night1/ (3 files, 6.0 MiB)")).to_be_visible(timeout=15_000)
    assert not ui.cut_off(), ui.cut_off()
    ui.shot("staging-selected")
    page.get_by_role("button", name="Start staging").click()
    # "Queued archive:night1 ..." shows until the runner picks the job up, which may be
    # before the page is looked at: only its going away is certain (the unit tests check
    # that it shows)
    job = page.locator(".tabulator-row", has_text="archive:night1").first
    expect(job).to_contain_text("succeeded", timeout=60_000)
    expect(page.get_by_text("Queued archive:night1")).to_have_count(0, timeout=15_000)
    expect(page.get_by_text("finished").first).to_be_visible(timeout=15_000)  # the log
    assert not ui.cut_off(), ui.cut_off()
    ui.shot("staging-finished")
    jobs = ui.server.api("carol", "GET", "staging/jobs").json()
    assert [(j["status"], j["files_done"], j["target"]) for j in jobs] == [
        ("succeeded", 3, "night1")]


def test_a_refusal_is_an_error_and_goes_with_the_root(ui: Ui) -> None:
    ui.open("staging", "bob")  # bob is a stager too
    page = ui.page
    ui.signed_in("Bob (bob)")
    expect(page.locator(".tabulator-cell", has_text="night1/").first).to_be_visible(
        timeout=30_000)
    target = page.get_by_label("Target (in your working directory)")
    target.fill("../outside")
    target.press("Enter")
    page.get_by_role("button", name="Start staging").click()
    refusal = page.get_by_role("alert").filter(has_text="Refused: target")
    expect(refusal).to_be_visible(timeout=15_000)
    expect(refusal).to_have_class(re.compile(r"MuiAlert-\w*[Ee]rror"))  # an error, not info
    ui.shot("staging-refused")
    page.get_by_label("Storage root").click()
    page.locator("li").filter(has_text=re.compile(r"^scratch$")).click()
    expect(refusal).to_have_count(0, timeout=15_000)
    expect(page.get_by_text("This folder is empty.")).to_be_visible(timeout=15_000)
    ui.shot("staging-empty-root")
