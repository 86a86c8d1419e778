"""The Ocat Viewer on a real database (SQLite and PostgreSQL) with the real services: only the
buttons the user may press, the detail, live warnings, express confirm, the rota."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.dashboards.ocat_source import OcatSource
from jupyter_astro_ops.dashboards.ocat_view import OcatDashboard
from jupyter_astro_ops.dashboards.tasks import first_load
from jupyter_astro_ops.ocat.schemas import SubmitIn

from ..ocat.conftest import CATALOG, OCAT_ROLES, ocat_services
from ..ocat.conftest import who as _who  # noqa: F401  (fixture)

ALL = {"roll_obsr": 120.5, "bep_pack": "VF", "ra": 83.64}


@pytest.fixture
def services(db: Database) -> Any:
    services = ocat_services(db, {"FeedHub": {"poll_interval": 0.2}})
    root = services.roles.resolve("root", "Root", ["ops-leads"])
    services.ocat.importer.apply(root, "catalog", [dict(r) for r in CATALOG])
    return services


def dash_for(services: Any, user: str, groups: list[str]) -> OcatDashboard:
    dash = OcatDashboard(source=OcatSource(services.ocat, services.roles.resolve(
        user, user.title(), groups)))
    dash.load()
    return dash


def labels(dash: OcatDashboard) -> list[str]:
    return [label for label, _, _ in dash.board.allowed_actions()]


def test_only_the_buttons_you_may_press(services: Any) -> None:
    poc = dash_for(services, "pocone", ["usint"])
    assert "Enter an obsid" in poc.submit.preview or poc.submit.preview == ""
    poc.submit.obsid = 1001
    assert poc.submit.observation.startswith("**1001 · Target 1001** (ACIS-S, GO)")
    assert poc.submit.parameter == "roll_obsr"
    poc.submit.value = "400"
    poc.submit.add_change()
    poc.submit.changes = {**poc.submit.changes, "bep_pack": "VF", "ra": "83.64"}
    assert "outside 0..360" in poc.submit.preview  # live warning before submitting
    assert "acis_si" in poc.submit.preview
    poc.submit.comment = "<img src=x onerror=alert(1)>"
    poc.submit.submit()
    assert poc.submit.notice.startswith("Submitted 1001.001 with 1 warning")
    poc.board.load()
    assert list(poc.board.frame["revision"]) == ["1001.001"]
    assert poc.board.frame.iloc[0]["acis_si"] == "pending"
    assert poc.board.frame.iloc[0]["hrc_si"] == "—"
    arc = dash_for(services, "arc", ["arcops"])
    arc.board.select("1001.001")
    assert labels(arc) == ["Sign General", "Sign ACIS"]
    acis = dash_for(services, "acisguy", ["acis"])
    acis.board.select("1001.001")
    assert labels(acis) == ["Sign ACIS SI"]
    poc.board.select("1001.001")
    assert labels(poc) == ["Discard", "Withdraw"]  # verification waits for the others
    head = poc.board._actions[0].object
    assert "&lt;img src=x onerror=alert(1)&gt;" in head and "<img" not in head
    arc.board.act("sign", "general")
    assert arc.board.notice == "Signed General of 1001.001."
    assert labels(arc) == ["Sign ACIS", "Undo General"]
    arc.board.act("sign", "acis")
    acis.board.select("1001.001")
    acis.board.act("sign", "acis_si")
    poc.board.select("1001.001")
    assert labels(poc) == ["Sign Verification", "Sign off and approve", "Discard"]
    poc.board.act("approve", "usint_verification")
    assert poc.board.notice == "Signed and approved Verification of 1001.001."
    assert services.ocat.service.observation(poc.source.user, 1001).approved
    nobody = dash_for(services, "nobody", [])
    nobody.board.select("1001.001")
    assert labels(nobody) == [] and nobody.submit._submit.disabled


def test_refusals_are_shown_not_raised(services: Any) -> None:
    poc = dash_for(services, "pocone", ["usint"])
    poc.submit.obsid = 1005  # observed
    assert "Cannot submit" in poc.submit.preview
    poc.submit.obsid = 1001
    poc.submit.changes = {"roll_obsr": "1"}
    poc.submit.submit()
    arc = dash_for(services, "arc", ["arcops"])
    arc.board.select("1001.001")
    stale = arc.board.detail
    arc.board.act("sign", "general")
    arc.board.detail = stale  # a stale page: the version moved on
    arc.board.act("sign", "general")
    assert arc.board.notice.startswith("Refused:") and arc.board.notice_kind == "error"


def test_express_needs_a_check_then_confirm(services: Any) -> None:
    poc = dash_for(services, "pocone", ["usint"])
    poc.express.obsids = "1001-1003, 4242"
    poc.express.run(dry_run=False)
    assert poc.express.notice == "Check this list first."
    poc.express.run(dry_run=True)
    assert list(poc.express.frame["Verdict"]) == ["approvable", "approvable",
                                                  "blocked: no SI mode", "unknown"]
    assert poc.express._confirm.label == "Approve 2 observation(s)"
    assert not poc.express._confirm.disabled
    poc.express.obsids = "1001"  # edited after the check: confirm is off again
    assert poc.express._confirm.disabled
    poc.express.obsids = "1001-1003, 4242"
    poc.express.run(dry_run=True)
    poc.express.run(dry_run=False)
    assert poc.express.notice.startswith("Approved 2. Skipped:")
    assert list(poc.express.frame["Revision"][:2]) == ["1001.001", "1002.001"]


def test_rota_signup_and_unlock(services: Any) -> None:
    poc = dash_for(services, "pocone", ["usint"])
    assert poc.rota.frame.iloc[0]["Now"] == "on duty" and poc.rota.frame.iloc[0]["POC"] == "(open)"
    poc.rota.selected = int(poc.rota.frame.index[0])
    poc.rota._buttons()
    assert not poc.rota._signup.disabled and poc.rota._unlock.disabled
    poc.rota.act("signup")
    assert poc.rota.frame.iloc[0]["POC"] == "pocone"
    other = dash_for(services, "poctwo", ["usint"])
    other.rota.selected = poc.rota.selected
    other.rota._buttons()
    assert other.rota._signup.disabled and other.rota._unlock.disabled
    poc.rota._buttons()
    poc.rota.act("unlock")
    assert poc.rota.frame.iloc[0]["POC"] == "(open)"


def test_empty_board_says_what_to_do(services: Any) -> None:
    arc = dash_for(services, "arc", ["arcops"])
    assert arc.board.frame.empty
    assert "Submit" in arc.board._empty().object
    assert "Select a revision" in arc.board._actions[0].object
    arc.__panel__()  # builds


async def test_live_update_from_the_feed(services: Any) -> None:
    arc = dash_for(services, "arc", ["arcops"])
    await services.activity.feed.start()
    follower = asyncio.ensure_future(arc.follow(services.activity.feed))
    try:
        await asyncio.sleep(0.3)
        poc = services.roles.resolve("pocone", "Pocone", ["usint"])
        from jupyter_astro_ops.ocat.schemas import SubmitIn

        await asyncio.to_thread(services.ocat.service.submit, poc,
                                SubmitIn(obsid=1001, changes=ALL))
        for _ in range(50):
            if not arc.board.frame.empty:
                break
            await asyncio.sleep(0.1)
        assert list(arc.board.frame["revision"]) == ["1001.001"]
    finally:
        follower.cancel()
        await services.activity.feed.stop()
    assert OCAT_ROLES["arcops"]


def test_people_by_their_display_names(services: Any) -> None:
    """Submitter and signers read as the names their logins recorded on their events."""
    people = services.activity.events.display_names
    poc = OcatDashboard(source=OcatSource(services.ocat, services.roles.resolve(
        "pocone", "Pat Oconnor", ["usint"]), people))
    poc.load()
    poc.submit.obsid = 1001
    poc.submit.changes = {"roll_obsr": "120.5"}
    poc.submit.submit()
    arc = OcatDashboard(source=OcatSource(services.ocat, services.roles.resolve(
        "arc", "Ari Castillo", ["arcops"]), people))
    arc.load()
    arc.board.select("1001.001")
    arc.board.act("sign", "general")
    viewer = OcatDashboard(source=OcatSource(services.ocat, services.roles.resolve(
        "nobody", "No Body", []), people))
    viewer.load()
    row = viewer.board.frame.loc["1001.001"]
    assert row["submitter"] == "Pat Oconnor" and row["general"] == "signed (Ari Castillo)"
    viewer.board.select("1001.001")
    head = viewer.board._actions[0].object
    assert "by Pat Oconnor" in head and "| Ari Castillo |" in head
    assert people(["pocone", "arc", "stranger"]) == {"pocone": "Pat Oconnor",
                                                     "arc": "Ari Castillo"}


async def test_first_load_fills_the_board_before_it_shows_or_says_why_not(services: Any) -> None:
    """The page builder's first load: rows set before the Viewer is shown; a failed read is
    an error on the page (not an empty board) and starts no follower."""
    poc = services.roles.resolve("pocone", "Poc One", ["usint"])
    services.ocat.service.submit(poc, SubmitIn(obsid=1001, changes={"roll_obsr": 120.5}))
    dash = OcatDashboard(source=OcatSource(services.ocat, poc))
    assert dash.board.frame.empty
    assert await first_load(dash.board.fetch, dash.board.set_rows, dash.board.tell, "the board")
    assert list(dash.board.frame["revision"]) == ["1001.001"]
    assert dash.board.notice == ""

    def gone() -> list[Any]:
        raise OSError("database unreachable")

    empty = OcatDashboard(source=OcatSource(services.ocat, poc))
    assert not await first_load(gone, empty.board.set_rows, empty.board.tell, "the Ocat board")
    assert empty.board.notice == "Could not load the Ocat board; reload the page to retry."
    assert empty.board.notice_kind == "error"
