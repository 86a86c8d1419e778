"""Night-table and leave imports on SQLite and PostgreSQL: idempotent, one update per changed
night, hand entries never overwritten, malformed rows reported, one transaction per import."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import fsspec
import pytest
from sqlalchemy import select

from jupyter_astro_ops.activity.models import ActivityEvent
from jupyter_astro_ops.core.errors import Forbidden, NotFound, ValidationError
from jupyter_astro_ops.planner.models import Entry

from .conftest import MON, NOW, events_count

NIGHT_CSV = """date,role,person
2030-01-07,night_attendant,bob
2030-01-07,OA,carol
2030-01-08,night_attendant,bob
2030-01-08,observing_assistant,carol
"""


def write(name: str, text: str) -> str:
    url = f"memory://planner-tests/{name}"
    with fsspec.open(url, "w") as handle:
        handle.write(text)
    return url


@pytest.fixture
def importer(parts: Any) -> Any:
    return parts.importer


@pytest.fixture
def run(importer: Any, staff: Any) -> Any:
    def _run(name: str, url: str, **kw: Any) -> Any:
        kw.setdefault("now", NOW)
        return importer.run(importer.identity(), name, url, **kw)
    return _run


def imported(db: Any, source: str = "night") -> dict[tuple[str, str], tuple[str, int, bool]]:
    with db.read() as session:
        rows = session.scalars(select(Entry).where(Entry.source == source))
        return {(r.day.isoformat(), r.import_key): (r.username, r.version, r.deleted)
                for r in rows}


def test_night_table_is_imported_once(run: Any, planner: Any, users: Any, db: Any) -> None:
    url = write("night.csv", NIGHT_CSV)
    first = run("night", url)
    assert (len(first.added), first.problems, first.clashes) == (4, [], [])
    grid = planner.grid(users["bob"], MON, MON, department="Operations")
    cells = {r.username: r.cells[0] for r in grid.rows}
    assert [(b.location, b.kind, b.source) for b in cells["bob"].blocks] == [
        ("SUNight", "import", "night")]
    assert cells["carol"].blocks[0].local_start == "17:30"  # the OA's hours
    before = (imported(db), events_count(db))
    again = run("night", url)
    assert again.file_unchanged and not again.changed
    forced = run("night", url, force=True)  # even without the file digest: nothing to do
    assert (forced.added, forced.updated, forced.removed, forced.unchanged) == ([], [], [], 4)
    assert (imported(db), events_count(db)) == before


def test_changed_night_updates_exactly_that_night(run: Any, db: Any, put: Any) -> None:
    run("night", write("night.csv", NIGHT_CSV))
    put("frank", MON, ("HQ", "07:00", "09:00"))  # frank becomes a night attendant below
    changed = NIGHT_CSV.replace("2030-01-08,night_attendant,bob",
                                "2030-01-08,night_attendant,alice")
    before = imported(db)
    result = run("night", write("night2.csv", changed))
    assert result.updated == ["2030-01-08 night_attendant alice"]
    assert (result.added, result.removed, result.unchanged) == ([], [], 3)
    after = imported(db)
    assert after[("2030-01-08", "night_attendant")] == ("alice", 2, False)
    assert {k: v for k, v in after.items() if k != ("2030-01-08", "night_attendant")} == {
        k: v for k, v in before.items() if k != ("2030-01-08", "night_attendant")}
    dropped = run("night", write("night3.csv", changed.replace(
        "2030-01-08,observing_assistant,carol\n", "")))
    assert dropped.removed == ["2030-01-08 observing_assistant carol"]
    assert imported(db)[("2030-01-08", "observing_assistant")][2] is True


def test_hand_entries_are_never_overwritten(run: Any, put: Any, planner: Any, users: Any,
                                            db: Any) -> None:
    [hand] = put("bob", MON, ("SUNight", "20:00", "23:00"))
    result = run("night", write("night.csv", NIGHT_CSV))
    assert [(c.day, c.username) for c in result.clashes] == [(MON, "bob")]
    assert hand.id in result.clashes[0].blocking[0]
    assert planner.get_entry(users["bob"], hand.id).version == 1  # untouched
    with db.read() as session:
        warning = session.scalars(select(ActivityEvent).where(
            ActivityEvent.object_type == "PLANNER_IMPORT",
            ActivityEvent.status == "WARNING")).first()
        text = " ".join(line["message"] for line in warning.log)
    assert "SUNight 18:00-06:00 for bob" in text and f"hand entry {hand.id}" in text
    # an imported entry a person took over is theirs: the import no longer touches it
    night = planner.list_entries(users["bob"], MON + timedelta(days=1), MON + timedelta(days=1),
                                 "bob")[0]
    planner.delete_entry(users["bob"], night.id)
    again = run("night", write("night.csv", NIGHT_CSV), force=True)
    assert not again.added and planner.get_entry(users["bob"], night.id).deleted


def test_malformed_rows_are_reported_not_applied(run: Any, db: Any) -> None:
    text = NIGHT_CSV + ("not-a-date,night_attendant,bob\n"
                        "2030-01-09,night_attendant,zelda\n"
                        "2030-01-09,astronaut,bob\n"
                        "2030-01-09,night_attendant\n"
                        "2030-01-07,night_attendant,carol\n")
    result = run("night", write("bad.csv", text))
    reasons = {p.row: p.reason for p in result.problems}
    assert "not a date" in reasons[5] and "unknown person 'zelda'" in reasons[6]
    assert "unknown role 'astronaut'" in reasons[7] and "person is missing" in reasons[8]
    assert "listed twice" in reasons[9]
    assert len(result.added) == 4  # the good rows
    assert events_count(db, "PLANNER_IMPORT") >= 2  # the problems warning and the summary


def test_strict_mode_refuses_the_whole_file(run: Any, importer: Any, db: Any) -> None:
    importer.strict = True
    result = run("night", write("bad.csv", NIGHT_CSV + "2030-01-09,night_attendant,zelda\n"))
    assert result.problems and not result.added and imported(db) == {}


@pytest.mark.parametrize("text", ["{not json", "[1, 2", "", "\x00\x01"])
def test_unreadable_files_are_a_clear_error(run: Any, text: str) -> None:
    with pytest.raises(ValidationError):
        run("night", write("broken.json", text))


def test_missing_file_and_permissions(run: Any, importer: Any, users: Any) -> None:
    with pytest.raises(NotFound):
        run("night", "memory://planner-tests/nope.csv")
    with pytest.raises(Forbidden):
        importer.run(users["bob"], "night", write("n.csv", NIGHT_CSV))
    with pytest.raises(NotFound):
        importer.run_configured(users["dave"], "night")
    with pytest.raises(NotFound):
        run("payroll", write("n.csv", NIGHT_CSV))


def test_one_transaction_per_import(run: Any, parts: Any, db: Any, monkeypatch: Any) -> None:
    calls = []
    original = parts.writer.insert

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    monkeypatch.setattr(parts.writer, "insert", failing)
    before = events_count(db)
    with pytest.raises(RuntimeError):
        run("night", write("night.csv", NIGHT_CSV))
    assert imported(db) == {} and events_count(db) == before  # nothing half-applied


def test_dry_run_writes_nothing(run: Any, db: Any) -> None:
    result = run("night", write("night.csv", NIGHT_CSV), dry_run=True)
    assert len(result.added) == 4 and imported(db) == {}
    assert run("night", write("night.csv", NIGHT_CSV)).added  # not tracked as imported


def test_leave_import_and_cancellation(run: Any, planner: Any, users: Any, db: Any) -> None:
    leave = [{"id": "L-1", "person": "bob", "type": "vacation", "from": "2030-01-10",
              "to": "2030-01-14", "status": "approved"},
             {"id": "L-2", "person": "carol", "type": "Sick", "from": "2030-01-07",
              "to": "2030-01-07", "status": "pending"},
             {"id": "L-3", "person": "carol", "type": "gardening", "from": "2030-01-07",
              "to": "2030-01-07", "status": "approved"}]
    result = run("leave", write("leave.json", json.dumps(leave)))
    days = sorted(k[0] for k in imported(db, "leave"))
    assert days == ["2030-01-10", "2030-01-11", "2030-01-14"]  # working days only
    assert [p.row for p in result.problems] == [3]
    grid = planner.grid(users["carol"], date(2030, 1, 10), date(2030, 1, 10), username="bob")
    assert [(b.location, b.kind, b.source) for b in grid.rows[0].cells[0].blocks] == [
        ("Vacation", "import", "leave")]
    leave[0]["status"] = "cancelled"
    cancelled = run("leave", write("leave2.json", json.dumps(leave)))
    assert len(cancelled.removed) == 3
    assert all(v[2] for v in imported(db, "leave").values())
    leave[0]["status"] = "approved"
    leave[0]["to"] = "2030-01-10"
    back = run("leave", write("leave3.json", json.dumps(leave)))
    assert back.added == ["2030-01-10 L-1 bob"]


def test_duty_on_leave_is_reported_by_coverage_and_grid(run: Any, planner: Any,
                                                        users: Any) -> None:
    run("leave", write("leave.json", json.dumps([
        {"id": "L-9", "person": "bob", "type": "vacation", "from": "2030-01-07",
         "to": "2030-01-07", "status": "approved"}])))
    result = run("night", write("night.csv", NIGHT_CSV))  # bob's duty that evening
    assert not result.clashes  # 08:00-17:00 leave and 18:00-06:00 duty do not overlap
    cov = planner.coverage(users["carol"], MON, MON)
    assert [(c.username, c.duty, c.leave) for c in cov.conflicts] == [
        ("bob", "SUNight", "Vacation")]
    na = next(c for c in cov.cells if c.rule == "Night attendant on the summit")
    assert (na.covered, na.gap) == (0, 1) and "on Vacation" in na.conflicts[0]
    oa = next(c for c in cov.cells if c.rule == "Observing assistant on the summit")
    assert (oa.covered, oa.who, oa.gap) == (1, ["carol"], 0)
    cell = planner.grid(users["carol"], MON, MON, username="bob").rows[0].cells[0]
    assert cell.conflicts and "duty on leave" in cell.conflicts[0]
