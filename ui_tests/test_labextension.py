"""The JupyterLab extension in headless Chromium, against ``jupyter lab`` at ``/user/obs1/``.

Each test drives the real UI (launcher, file-browser context menu, dialog, status bar,
notifications, a notebook) and fails on any console error or request leaving the local
server (see ``lab_page``). Screenshots of each step land in ``ui_tests/artifacts/<test>/``.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from jupyter_astro_ops.dashboards.registry import dashboards

from .lab_support import LAB_BASE_URL, Lab, LabPage

ASTRO_SECTION = ".jp-Launcher-section:has(.jp-Launcher-sectionTitle:text-is('Astro Ops'))"
STATUS = ".jp-AstroOps-status"


def _record_status_texts(page) -> None:
    """Keep every text the status item shows (a job can be over within a second)."""
    page.evaluate("""() => {
        window.__statusTexts = [];
        const watch = () => {
            const node = document.querySelector('.jp-AstroOps-status');
            if (!node) { return setTimeout(watch, 100); }
            const note = () => window.__statusTexts.push(node.textContent);
            note();
            new MutationObserver(note).observe(node, {subtree: true, childList: true,
                                                       characterData: true});
        };
        watch();
    }""")


def test_launcher_opens_each_dashboard_in_a_restored_tab(lab: Lab, lab_page: LabPage) -> None:
    page = lab_page.open("obs1")
    listed = lab.api("obs1", "GET", "dashboards").json()
    # every dashboard the package ships (the server reads the same registry), index excluded
    assert [d["name"] for d in listed] == [d.name for d in dashboards()]
    assert {"activity", "calendar", "staging", "planner", "ocat"} <= {d["name"] for d in listed}
    section = page.locator(ASTRO_SECTION)
    expect(section).to_be_visible(timeout=30_000)
    for dashboard in listed:  # one tile per dashboard the server lists, each with its icon
        card = section.locator(".jp-LauncherCard", has_text=dashboard["title"])
        expect(card).to_be_visible()
        expect(card.locator("svg")).to_have_count(1)
    # the generic jupyter-server-proxy tile is hidden
    expect(page.locator(".jp-LauncherCard", has_text="Astro Ops dashboards")).to_have_count(0)
    lab_page.shot("launcher")

    for dashboard in listed:
        name, title = dashboard["name"], dashboard["title"]
        page.locator(".jp-Launcher").first.wait_for()
        page.locator(ASTRO_SECTION).locator(".jp-LauncherCard", has_text=title).click()
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text=title)
        expect(tab).to_be_visible(timeout=10_000)
        frame_el = page.locator(f"#astro-ops-dashboard-{name} iframe")
        expect(frame_el).to_have_attribute("src", f"{LAB_BASE_URL}astro-ops/dash/{name}")
        frame = page.frame_locator(f"#astro-ops-dashboard-{name} iframe")
        expect(frame.get_by_text("signed in as Observer One (obs1)")).to_be_visible(
            timeout=60_000)
        expect(frame.get_by_text(title, exact=False).first).to_be_visible()
        lab_page.shot(f"dashboard-{name}")
        # launching replaces the launcher: open a new one for the next tile
        page.locator("#jp-main-dock-panel .lm-TabBar-addButton").first.click()

    # after a reload the layout restorer brings every tab back, rendered
    page.reload()
    page.locator("#jp-main-dock-panel").wait_for(timeout=60_000)
    for dashboard in listed:
        expect(page.locator("#jp-main-dock-panel .lm-TabBar-tab",
                            has_text=dashboard["title"])).to_have_count(1, timeout=30_000)
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Staging").click()
    frame = page.frame_locator("#astro-ops-dashboard-staging iframe")
    expect(frame.get_by_text("signed in as Observer One (obs1)")).to_be_visible(timeout=60_000)
    lab_page.shot("restored")


def _open_stage_dialog(page, folder: str):
    item = page.locator(".jp-DirListing-item", has_text=folder).first
    expect(item).to_be_visible(timeout=30_000)
    item.click(button="right")
    entry = page.locator(".lm-Menu-item", has_text="Stage data here...")
    expect(entry).to_be_visible()
    return entry


def test_stage_data_here_from_the_file_browser(lab: Lab, lab_page: LabPage) -> None:
    (lab.work / "notes.txt").write_text("x")
    page = lab_page.open("obs1")
    expect(page.locator(STATUS)).to_contain_text("No staging", timeout=30_000)
    _record_status_texts(page)

    # the empty area of the listing offers it (for the folder shown); a file does not
    page.locator(".jp-DirListing-content").click(button="right", position={"x": 60, "y": 400})
    expect(page.locator(".lm-Menu-item", has_text="Stage data here...")).to_be_visible()
    page.keyboard.press("Escape")
    note = page.locator(".jp-DirListing-item", has_text="notes.txt")
    expect(note).to_be_visible(timeout=15_000)
    note.click(button="right")
    expect(page.locator(".lm-Menu-item", has_text="Rename")).to_be_visible()
    expect(page.locator(".lm-Menu-item", has_text="Stage data here...")).to_be_hidden()
    page.keyboard.press("Escape")

    _open_stage_dialog(page, "data").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Stage data into data")
    expect(dialog.get_by_label("Storage root")).to_have_value("archive")
    dialog.get_by_role("checkbox", name="Select night1").check()
    expect(dialog.get_by_label("Name")).to_have_value("night1")
    expect(dialog.get_by_label("Method")).to_have_value("copy")
    lab_page.shot("dialog")
    dialog.get_by_role("button", name="Stage").click()
    expect(page.locator(".Toastify__toast", has_text="Staging into data/night1 queued")) \
        .to_be_visible(timeout=10_000)
    lab_page.shot("queued")

    done = page.locator(".Toastify__toast", has_text="Staged archive:night1 into data/night1")
    expect(done).to_be_visible(timeout=60_000)
    lab_page.shot("finished")
    texts = page.evaluate("window.__statusTexts")
    assert any(re.search(r"1 staging", t) for t in texts), texts  # the status bar had it
    expect(page.locator(STATUS)).to_contain_text("No staging", timeout=10_000)

    # "Open folder" shows the staged files in the file browser
    done.get_by_role("button", name="Open folder").click()
    expect(page.locator(".jp-BreadCrumbs")).to_contain_text("night1", timeout=10_000)
    for name in ("frame000.fits", "frame002.fits", "raw"):
        expect(page.locator(".jp-DirListing-item", has_text=name).first).to_be_visible()
    lab_page.shot("files")
    staged = lab.work / "data" / "night1"
    for src in (lab.archive / "night1").rglob("*"):
        if src.is_file():
            assert (staged / src.relative_to(lab.archive / "night1")).read_bytes() == \
                src.read_bytes()


def test_a_refused_job_shows_the_servers_message(lab: Lab, lab_page: LabPage) -> None:
    page = lab_page.open("obs1")
    expected = lab.api("obs1", "POST", "staging/jobs", {
        "source": {"root": "archive", "path": "night1"}, "target": "elsewhere/night1",
        "method": "copy"})
    assert expected.status_code == 403, expected.text
    # the browser logs the refused POST itself; that one is the point of this test
    lab_page.expect_error(r"status of 403 .*astro-ops/api/v1/staging/jobs$")
    _open_stage_dialog(page, "elsewhere").click()
    dialog = page.locator(".jp-Dialog")
    # browse into night1 (ls ?path=night1): files with sizes; several files keep their names
    dialog.get_by_role("button", name="night1/").click()
    expect(dialog.locator(".jp-AstroOps-stage-crumbs")).to_contain_text("archive / night1")
    expect(dialog.get_by_role("button", name="raw/")).to_be_visible()
    dialog.get_by_role("checkbox", name="Select frame000.fits").check()
    dialog.get_by_role("checkbox", name="Select frame001.fits").check()
    expect(dialog.locator(".jp-AstroOps-stage-hint")).to_have_text(
        "Stages 2 files; they keep their names.")
    expect(dialog.get_by_label("Name")).to_be_disabled()
    expect(dialog.locator("li", has_text="frame000.fits")).to_contain_text("KiB")
    # picking the whole directory drops the files
    dialog.get_by_role("checkbox", name="Select this whole directory").check()
    expect(dialog.get_by_role("checkbox", name="Select frame000.fits")).not_to_be_checked()
    expect(dialog.get_by_label("Name")).to_have_value("night1")
    lab_page.shot("browsed")
    dialog.get_by_role("button", name="archive").click()
    dialog.get_by_role("checkbox", name="Select night1").check()
    dialog.get_by_role("button", name="Stage").click()
    alert = page.locator(".jp-Dialog .jp-AstroOps-stage-error")
    expect(alert).to_have_text(expected.json()["message"], timeout=10_000)
    # reopened where it was: the choice is kept
    expect(page.locator(".jp-Dialog").get_by_role("checkbox", name="Select night1")) \
        .to_be_checked()
    lab_page.shot("refused")
    page.locator(".jp-Dialog").get_by_role("button", name="Cancel").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)


def test_decider_count_rises_live_when_a_request_is_filed(lab: Lab,
                                                          lab_page: LabPage) -> None:
    made = lab.api("alice", "POST", "projects", {"name": "UI Survey", "pi": "obs1"})
    assert made.status_code == 201, made.text
    page = lab_page.open("obs1")
    requests_item = page.locator(f"{STATUS} .jp-AstroOps-status-requests")
    expect(requests_item).to_have_text("0 requests", timeout=30_000)
    page.evaluate("window.__no_reload = 42")
    lab_page.shot("before")

    asked = lab.api("obs2", "POST", "activity",
                    {"kind": "project.join", "project_id": made.json()["id"],
                     "message": "may I join?"})
    assert asked.status_code == 201, asked.text
    expect(requests_item).to_have_text("1 request", timeout=15_000)
    expect(page.locator(".Toastify__toast",  # the display name from obs2's login
                        has_text='Observer Two asks for project.join "UI Survey"')).to_be_visible()
    assert page.evaluate("window.__no_reload") == 42  # live, not a reload
    lab_page.shot("after")

    page.locator(STATUS).click()
    panel = page.locator(".jp-AstroOps-panel")
    expect(panel).to_contain_text('Observer Two: project.join "UI Survey"')
    lab_page.shot("panel")
    page.keyboard.press("Escape")

    # deciding it elsewhere brings the count back down, still without a reload
    decided = lab.api("obs1", "PUT", f"requests/{asked.json()['id']}",
                      {"decision": "approve", "message": "welcome"})
    assert decided.status_code == 200, decided.text
    expect(requests_item).to_have_text("0 requests", timeout=15_000)


def test_a_notebook_acts_as_the_user_who_opened_it(lab: Lab, lab_page: LabPage) -> None:
    page = lab_page.open("obs2")
    with page.expect_response(lambda r: "kernel-tokens" in r.url and r.status == 201,
                              timeout=90_000):
        page.locator(".jp-DirListing-item", has_text="whoami.ipynb").dblclick()
    time.sleep(0.5)  # the silent execute follows the token at once
    cell = page.locator(".jp-Notebook .jp-CodeCell").first
    cell.click()
    page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-Notebook .jp-OutputArea-output").first
    expect(output).to_have_text("ME obs2", timeout=60_000)
    lab_page.shot("whoami")

    # a restarted kernel gets a fresh token (the old process's is gone with it); the outputs
    # are cleared so that the one asserted below comes from the new process
    with page.expect_response(lambda r: "kernel-tokens" in r.url and r.status == 201,
                              timeout=90_000):
        page.locator(".lm-MenuBar-item", has_text="Kernel").click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(
            r"^Restart Kernel and Clear Outputs of All Cells…$")).first.click()
        page.locator(".jp-Dialog").get_by_role("button", name="Confirm Kernel Restart").click()
    expect(page.locator(".jp-Notebook .jp-OutputArea-output")).to_have_count(0)
    time.sleep(0.5)
    cell.click()
    page.keyboard.press("Shift+Enter")
    expect(page.locator(".jp-Notebook .jp-OutputArea-output").first).to_have_text(
        "ME obs2", timeout=60_000)
    lab_page.shot("after-restart")


def test_settings_editor_switches_the_status_bar_item(lab: Lab, lab_page: LabPage) -> None:
    page = lab_page.open("obs1")
    status = page.locator(STATUS)
    expect(status).to_be_visible(timeout=30_000)
    page.locator(".lm-MenuBar-item", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Settings Editor$")).click()
    page.locator(".jp-PluginList-entry", has_text="Astro Ops").click()
    toggle = page.get_by_role("checkbox", name="Status bar item")
    expect(toggle).to_be_checked(timeout=15_000)
    expect(page.get_by_text("A sign-off awaits your group (Ocat)")).to_be_visible()
    lab_page.shot("settings")
    toggle.uncheck()
    expect(status).to_be_hidden(timeout=15_000)
    lab_page.shot("status-bar-off")
    toggle.check()
    expect(status).to_be_visible(timeout=15_000)

    # the commands are in the palette too
    page.keyboard.press("Control+Shift+C")
    palette = page.locator("#command-palette")
    palette.locator("input").fill("Astro Ops")
    for label in ("Open the Activity dashboard", "Open the Calendar dashboard",
                  "Open the Staging dashboard", "Stage data into the current folder...",
                  "Show my staging jobs"):
        expect(palette.locator(".lm-CommandPalette-itemLabel", has_text=label).first) \
            .to_be_visible()
    lab_page.shot("palette")
    page.keyboard.press("Escape")
