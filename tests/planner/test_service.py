"""Planner service on SQLite and PostgreSQL: defaults on read, local times (overnight, DST),
the block rules, the permission matrix, compare-and-set, multi-day atomicity, the audit trail."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from jupyter_astro_ops.activity.models import ActivityEvent
from jupyter_astro_ops.core.errors import Conflict, Forbidden, NotFound, ValidationError
from jupyter_astro_ops.planner.models import Entry
from jupyter_astro_ops.planner.schemas import BlockIn, EntryIn, EntryPatch, HolidayIn

from .conftest import MON, local, week

LA = ZoneInfo("America/Los_Angeles")


def cell(grid: Any, username: str, day: date) -> Any:
    row = next(r for r in grid.rows if r.username == username)
    return next(c for c in row.cells if c.day == day)


def kinds(c: Any) -> list[tuple[str, str]]:
    return [(b.location, b.kind) for b in c.blocks]


# -- defaults generated on read ----------------------------------------------------------------
def test_defaults_fill_working_days_only(planner: Any, users: Any, staff: Any, db: Any) -> None:
    grid = planner.grid(users["carol"], *week())
    assert len(grid.days) == 7 and {r.username for r in grid.rows} == set(staff)
    mon = cell(grid, "bob", MON)
    assert kinds(mon) == [("HQ", "default")]
    block = mon.blocks[0]
    assert (block.local_start, block.local_end) == ("08:00", "17:00")
    assert block.start == local(MON, "08:00") and block.end == local(MON, "17:00")
    assert block.entry_id is None and block.version is None
    assert cell(grid, "bob", MON + timedelta(days=5)).blocks == []  # Saturday
    assert kinds(cell(grid, "dave", MON)) == [("SU", "default")]
    assert all(c.blocks == [] for c in next(r for r in grid.rows if r.username == "erin").cells)
    with db.read() as session:  # defaults are never stored
        assert session.scalars(select(Entry)).first() is None


def test_other_working_days_and_shift(planner: Any, users: Any, staff: Any) -> None:
    grid = planner.grid(users["bob"], *week(), username="frank")
    assert [r.username for r in grid.rows] == ["frank"]
    got = {c.day.weekday(): kinds(c) for c in grid.rows[0].cells}
    assert got[0] == [] and got[6] == []  # Monday and Sunday off
    assert got[5] == [("HQ", "default")]  # works Saturdays
    sat = cell(grid, "frank", MON + timedelta(days=5)).blocks[0]
    assert (sat.local_start, sat.local_end) == ("07:00", "15:30")


def test_holidays_from_config_and_table(planner: Any, parts: Any, users: Any,
                                        staff: Any) -> None:
    new_year = date(2030, 1, 1)  # a Tuesday, from config
    parts.holidays.add_holiday(users["dave"], HolidayIn(calendar="main", day=MON,
                                                        name="Founders' Day"))
    grid = planner.grid(users["carol"], new_year, MON + timedelta(days=1))
    c = cell(grid, "bob", new_year)
    assert c.holiday == "New Year's Day" and kinds(c) == [("Holiday", "holiday")]
    assert cell(grid, "bob", MON).holiday == "Founders' Day"
    assert cell(grid, "erin", MON).holiday is None  # primary location none: no holidays
    assert kinds(cell(grid, "lara", MON)) == [("HQ", "default")]  # other calendar
    assert kinds(cell(grid, "bob", MON + timedelta(days=1))) == [("HQ", "default")]
    listed = parts.holidays.list_holidays(users["bob"], new_year, MON)
    assert [(h.name, h.source) for h in listed] == [("New Year's Day", "config"),
                                                    ("Founders' Day", "table")]
    with pytest.raises(Forbidden):
        parts.holidays.add_holiday(users["bob"], HolidayIn(calendar="main", day=MON, name="x"))
    with pytest.raises(Conflict):
        parts.holidays.add_holiday(users["dave"], HolidayIn(calendar="main", day=MON, name="x"))
    with pytest.raises(Conflict):
        parts.holidays.add_holiday(users["dave"], HolidayIn(calendar="main", day=new_year,
                                                            name="again"))


def test_stored_entry_wins_and_partly_filled_day(planner: Any, users: Any, put: Any) -> None:
    put("bob", MON, ("WFH", "08:00", "12:00"), note="cell 555-0100")
    put("bob", MON + timedelta(days=5), ("SU", "09:00", "13:00"))  # a Saturday, by hand
    grid = planner.grid(users["carol"], *week())
    mon = cell(grid, "bob", MON)
    assert kinds(mon) == [("WFH", "stored")]  # only the stored block: no HQ for the afternoon
    assert mon.blocks[0].note == "cell 555-0100" and mon.blocks[0].entry_id
    assert kinds(cell(grid, "bob", MON + timedelta(days=5))) == [("SU", "stored")]
    assert kinds(cell(grid, "bob", MON + timedelta(days=1))) == [("HQ", "default")]


def test_grid_filters(planner: Any, users: Any, put: Any) -> None:
    put("carol", MON, ("SUNight", "18:00", "06:00"))
    grid = planner.grid(users["bob"], *week(), department="Operations")
    assert sorted(r.username for r in grid.rows) == ["bob", "carol"]
    assert [r.username for r in planner.grid(users["bob"], *week(), role="summit_lead").rows] \
        == ["dave"]
    assert [r.username for r in planner.grid(users["bob"], *week(), location="SUNight").rows] \
        == ["carol"]
    with pytest.raises(ValidationError):
        planner.grid(users["bob"], MON, MON - timedelta(days=1))
    with pytest.raises(ValidationError):
        planner.grid(users["bob"], MON, MON + timedelta(days=200))
    with pytest.raises(ValidationError):
        planner.grid(users["bob"], MON, location="Moon")


# -- local times --------------------------------------------------------------------------------
def test_overnight_block_ends_next_day(planner: Any, put: Any) -> None:
    [entry] = put("bob", MON, ("SUNight", "18:00", "06:00"))
    block = entry.blocks[0]
    assert block.start == local(MON, "18:00")
    assert block.end == local(MON + timedelta(days=1), "06:00")
    assert block.overnight and (block.local_start, block.local_end) == ("18:00", "06:00")
    assert block.end - block.start == timedelta(hours=12)
    assert block.start.tzinfo is not None and block.start.utcoffset() == timedelta(0)
    # the next morning's block must not overlap the night
    with pytest.raises(Conflict) as err:
        put("bob", MON + timedelta(days=1), ("HQ", "05:00", "09:00"))
    assert "SUNight 18:00-06:00" in err.value.message


def test_dst_change_days_in_a_zone_that_has_them(planner: Any, users: Any, put: Any) -> None:
    spring = date(2030, 3, 10)  # a Sunday: US clocks go forward at 02:00
    assert cell(planner.grid(users["bob"], spring, spring, username="lara"), "lara",
                spring).blocks == []  # no default on a Sunday
    [shift] = put("lara", spring, ("HQ", "08:00", "17:00"))
    b = shift.blocks[0]
    assert b.start == local(spring, "08:00", LA) and b.start.hour == 15  # PDT, UTC-7
    assert b.end - b.start == timedelta(hours=9)
    [night] = put("lara", spring - timedelta(days=1), ("HQ", "18:00", "06:00"))
    n = night.blocks[0]
    assert (n.start.hour, n.end.hour) == (2, 13)  # 18:00 PST (UTC-8) .. 06:00 PDT (UTC-7)
    assert n.end - n.start == timedelta(hours=11)  # an hour shorter than the wall clock
    assert (n.local_start, n.local_end) == ("18:00", "06:00")
    autumn = date(2030, 11, 2)  # the night the clocks go back
    [long_night] = put("lara", autumn, ("HQ", "18:00", "06:00"))
    ln = long_night.blocks[0]
    assert ln.end - ln.start == timedelta(hours=13)
    assert ln.end == local(autumn + timedelta(days=1), "06:00", LA)


def test_nonexistent_local_time_is_refused(put: Any) -> None:
    with pytest.raises(ValidationError, match="02:30 does not exist on 2030-03-10"):
        put("lara", date(2030, 3, 10), ("HQ", "02:30", "04:00"))


def test_default_on_dst_day_is_right(planner: Any, users: Any, staff: Any) -> None:
    monday = date(2030, 3, 11)  # first Monday of PDT
    b = cell(planner.grid(users["bob"], monday, monday, username="lara"), "lara",
             monday).blocks[0]
    assert b.start == local(monday, "08:00", LA) and b.start.hour == 15


# -- block rules --------------------------------------------------------------------------------
@pytest.mark.parametrize("blocks,error,text", [
    ([("HQ", "08:00", "08:00")], ValidationError, "zero length"),
    ([("HQ", "06:00", "08:00"), ("HQ", "09:00", "10:00"), ("HQ", "11:00", "12:00")],
     ValidationError, "at most 2"),
    ([("HQ", "08:00", "12:00"), ("Hilo", "11:00", "17:00")], Conflict, "overlaps"),
    ([("WFH", "08:00", "12:00")], ValidationError, "needs a note"),
    ([("Moon", "08:00", "12:00")], ValidationError, "unknown location"),
    ([("Vacation", "08:00", "17:00")], Forbidden, "may not set Vacation"),
    ([("NgtSup", "18:00", "06:00")], Forbidden, "Night support"),
], ids=["zero", "three-blocks", "overlap", "note", "unknown", "leave-by-self", "duty-role"])
def test_block_rules(put: Any, blocks: list[tuple[str, str, str]], error: type,
                     text: str) -> None:
    with pytest.raises(error) as err:
        put("bob", MON, *blocks)
    assert text in err.value.message


def test_overlap_with_another_entry_names_the_clash(put: Any, planner: Any, users: Any,
                                                    db: Any) -> None:
    [night] = put("bob", MON, ("SUNight", "18:00", "06:00"))
    with db.write() as session:  # an import-owned copy, as the night table writes them
        session.get(Entry, night.id).origin = "night"
    [day] = put("bob", MON + timedelta(days=1), ("HQ", "08:00", "17:00"))
    with pytest.raises(Conflict) as err:
        planner.modify_entry(users["bob"], day.id, EntryPatch(
            blocks=[BlockIn(location="HQ", start="05:00", end="17:00")]))
    assert f"night import {night.id}" in err.value.message
    assert err.value.details["clash_entry_id"] == night.id
    with pytest.raises(ValidationError, match="3 blocks"):
        planner.modify_entry(users["bob"], night.id, EntryPatch(blocks=[
            BlockIn(location="SUNight", start="18:00", end="20:00"),
            BlockIn(location="SUNight", start="20:00", end="22:00"),
            BlockIn(location="SUNight", start="22:00", end="23:00")]))


def test_duty_settable_by_role_and_range_limit(put: Any) -> None:
    assert put("bob", MON, ("SUNight", "18:00", "06:00"))  # night attendant: self-service
    assert put("carol", MON, ("SUNight", "17:30", "06:30"))
    with pytest.raises(ValidationError, match="at most 31 days"):
        put("bob", MON + timedelta(days=1), ("HQ", "08:00", "17:00"),
            end=MON + timedelta(days=40))
    with pytest.raises(ValidationError, match="before"):
        put("bob", MON + timedelta(days=1), ("HQ", "08:00", "17:00"), end=MON)


def test_one_hand_entry_per_day(put: Any) -> None:
    [first] = put("bob", MON, ("HQ", "08:00", "12:00"))
    with pytest.raises(Conflict) as err:
        put("bob", MON, ("Hilo", "13:00", "17:00"))
    assert err.value.details["entry_id"] == first.id


# -- permissions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("actor,outcome", [
    ("bob", "ok"), ("carol", Forbidden), ("dave", "ok"), ("alice", "ok"), ("nobody", Forbidden),
], ids=["self", "other", "planner_admin", "admin", "anonymous"])
def test_permission_matrix(put: Any, planner: Any, users: Any, actor: str,
                           outcome: Any) -> None:
    [mine] = put("bob", MON, ("HQ", "08:00", "12:00"))
    actions = [
        lambda: put("bob", MON + timedelta(days=1), ("HQ", "08:00", "12:00"), by=actor),
        lambda: planner.modify_entry(users[actor], mine.id, EntryPatch(note="changed")),
        lambda: planner.delete_entry(users[actor], mine.id),
    ]
    for action in actions:
        if outcome == "ok":
            action()
        else:
            with pytest.raises(outcome):
                action()
    if outcome != "ok":
        assert planner.get_entry(users[actor], mine.id).version == 1  # reading is open


def test_leave_set_by_planner_admin_and_not_by_self(put: Any) -> None:
    assert put("bob", MON, ("Vacation", "08:00", "17:00"), by="dave")
    with pytest.raises(Forbidden):
        put("bob", MON + timedelta(days=1), ("Remote", "08:00", "17:00"))


def test_unknown_and_inactive_employees(planner: Any, parts: Any, users: Any, put: Any) -> None:
    with pytest.raises(NotFound):
        planner.create_entries(users["nobody"], EntryIn(
            start_date=MON, blocks=[BlockIn(location="HQ", start="08:00", end="12:00")]))
    with pytest.raises(NotFound):
        planner.whereis(users["bob"], "nobody")


# -- versions and deletion ----------------------------------------------------------------------
def test_compare_and_set(put: Any, planner: Any, users: Any) -> None:
    [entry] = put("bob", MON, ("HQ", "08:00", "12:00"))
    changed = planner.modify_entry(users["bob"], entry.id, EntryPatch(note="a", version=1))
    assert changed.version == 2 and changed.note == "a"
    with pytest.raises(Conflict) as err:
        planner.modify_entry(users["bob"], entry.id, EntryPatch(note="b", version=1))
    assert err.value.details["current"].version == 2
    with pytest.raises(Conflict):
        planner.delete_entry(users["bob"], entry.id, version=1)
    moved = planner.modify_entry(users["bob"], entry.id, EntryPatch(
        blocks=[BlockIn(location="Hilo", start="09:00", end="15:00")]), version=2)
    assert moved.version == 3 and moved.blocks[0].location == "Hilo"
    gone = planner.delete_entry(users["bob"], entry.id, version=3)
    assert gone.deleted and gone.version == 4
    with pytest.raises(NotFound):
        planner.modify_entry(users["bob"], entry.id, EntryPatch(note="c"))
    grid = planner.grid(users["bob"], MON, MON)
    assert kinds(cell(grid, "bob", MON)) == [("HQ", "default")]  # back to the default
    assert planner.list_entries(users["bob"], MON, MON) == []


def test_null_resets_a_field(put: Any, planner: Any, users: Any) -> None:
    """A merge patch: ``null`` puts a field back to a new entry's default."""
    [entry] = put("bob", MON, ("HQ", "08:00", "12:00"), note="dentist")
    changed = planner.modify_entry(users["bob"], entry.id, EntryPatch(note=None, seats=None))
    assert (changed.note, changed.seats, changed.version) == ("", 0, entry.version + 1)
    [wfh] = put("bob", MON + timedelta(days=1), ("WFH", "08:00", "12:00"), note="phone")
    with pytest.raises(ValidationError, match="needs a note"):
        planner.modify_entry(users["bob"], wfh.id, EntryPatch(note=None))


def test_wfh_note_cannot_be_emptied(put: Any, planner: Any, users: Any) -> None:
    [entry] = put("bob", MON, ("WFH", "08:00", "12:00"), note="phone")
    with pytest.raises(ValidationError, match="needs a note"):
        planner.modify_entry(users["bob"], entry.id, EntryPatch(note=" "))


# -- multi-day writes: all days or none ---------------------------------------------------------
def test_multi_day_entry_is_atomic(put: Any, planner: Any, users: Any, db: Any) -> None:
    wednesday = MON + timedelta(days=2)
    put("bob", wednesday, ("SUNight", "07:00", "10:00"))  # in the way on day 3
    before = planner.list_entries(users["bob"], MON, MON + timedelta(days=6))
    with pytest.raises(Conflict) as err:
        put("bob", MON, ("Vacation", "08:00", "17:00"), by="dave",
            end=MON + timedelta(days=4))
    assert "2030-01-09" in err.value.message
    assert planner.list_entries(users["bob"], MON, MON + timedelta(days=6)) == before
    # without the obstacle the whole week goes in, one entry and one event per day
    planner.delete_entry(users["dave"], before[0].id)
    done = put("bob", MON, ("Vacation", "08:00", "17:00"), by="dave",
               end=MON + timedelta(days=6), weekdays=["mon", "tue", "wed", "thu", "fri"])
    assert [e.day.weekday() for e in done] == [0, 1, 2, 3, 4]
    assert all(e.entered_by == "dave" and e.username == "bob" for e in done)


def test_a_write_range_is_refused_before_anything_is_written(put: Any, planner: Any,
                                                            users: Any) -> None:
    """Backwards, longer than ``max_range_days``, or without one chosen weekday: a 400 each,
    and no entry is stored."""
    too_long = MON + timedelta(days=planner.max_range_days)  # one day past the limit
    saturday = MON + timedelta(days=5)
    for end, weekdays, words in ((MON - timedelta(days=1), None, "before start_date"),
                                 (too_long, None, f"at most {planner.max_range_days} days"),
                                 (saturday + timedelta(days=1), ["mon"], "chosen weekdays")):
        with pytest.raises(ValidationError) as err:
            put("bob", saturday if weekdays else MON, ("HQ", "08:00", "12:00"), by="dave",
                end=end, weekdays=weekdays)
        assert words in err.value.message
    assert planner.list_entries(users["bob"], MON - timedelta(days=1),
                                MON + timedelta(days=13)) == []


def test_every_change_is_an_event_with_old_and_new(put: Any, planner: Any, users: Any,
                                                   db: Any) -> None:
    [entry] = put("bob", MON, ("HQ", "08:00", "12:00"), seats=2)
    planner.modify_entry(users["dave"], entry.id, EntryPatch(
        blocks=[BlockIn(location="SU", start="07:00", end="15:00")], summit_lead="7-3"))
    planner.delete_entry(users["bob"], entry.id)
    with db.read() as session:
        rows = session.scalars(select(ActivityEvent).where(
            ActivityEvent.object_type == "PLANNER_ENTRY", ActivityEvent.object_id == entry.id)
            .order_by(ActivityEvent.seq)).all()
        seen = [(r.action, r.username, r.status) for r in rows]
        add, mod, dele = (dict(r.data) for r in rows)
    assert seen == [("ADD", "bob", "SUCCESS"), ("MOD", "dave", "SUCCESS"),
                    ("DEL", "bob", "SUCCESS")]
    assert add["old"] is None and add["new"]["blocks"][0]["location"] == "HQ"
    assert add["new"]["seats"] == 2
    assert mod["old"]["blocks"][0]["location"] == "HQ"
    assert mod["new"]["blocks"][0] == {"location": "SU",
                                       "start": "2030-01-07T17:00:00Z",
                                       "end": "2030-01-08T01:00:00Z"}
    assert (mod["old"]["summit_lead"], mod["new"]["summit_lead"]) == ("", "7-3")
    assert dele["old"]["blocks"][0]["location"] == "SU" and dele["new"] is None


# -- where is -----------------------------------------------------------------------------------
def test_whereis(put: Any, planner: Any, users: Any) -> None:
    put("bob", MON, ("SUNight", "18:00", "06:00"))
    at = local(MON + timedelta(days=1), "03:00")  # inside Monday's night
    where = planner.whereis(users["carol"], "bob", at)
    assert [b.location for b in where.now] == ["SUNight"] and where.local_time == "03:00"
    assert "Summit night duty" in where.summary and "until 06:00" in where.summary
    assert [b.location for b in where.today.blocks] == ["HQ"]  # Tuesday's default
    noon = planner.whereis(users["bob"], at=local(MON + timedelta(days=1), "12:00"))
    assert noon.username == "bob" and [b.kind for b in noon.now] == ["default"]
    evening = planner.whereis(users["bob"], "bob", local(MON + timedelta(days=1), "20:00"))
    assert evening.now == [] and "nothing scheduled right now" in evening.summary


def test_location_list_says_what_the_caller_may_set(planner: Any, users: Any,
                                                    staff: Any) -> None:
    mine = {t.code: t.settable for t in planner.location_list(users["bob"])}
    assert mine["HQ"] and mine["SUNight"] and not mine["Vacation"] and not mine["NgtSup"]
    assert all(t.settable for t in planner.location_list(users["dave"]))


def test_rendered_grid_is_kept_until_the_next_change(planner: Any, users: Any,
                                                     put: Any) -> None:
    first = planner.grid_json(users["bob"], MON, MON + timedelta(days=6))
    assert planner.grid_json(users["bob"], MON, MON + timedelta(days=6)) is first  # cached
    assert b'"kind":"default"' in first.__json__()
    put("bob", MON, ("SU", "07:00", "15:30"))
    after = planner.grid_json(users["bob"], MON, MON + timedelta(days=6))
    assert after is not first and b'"location":"SU"' in after.__json__()
    cov = planner.coverage_json(users["bob"], MON, MON)
    assert planner.coverage_json(users["bob"], MON, MON) is cov
    put("carol", MON, ("SUNight", "17:30", "06:30"))
    assert b'"who":["carol"]' in planner.coverage_json(users["bob"], MON, MON).__json__()
