"""Calendar service rules on SQLite and PostgreSQL: overlap, ownership, versions, projects."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from jupyter_astro_ops.activity.models import ActivityEvent
from jupyter_astro_ops.calendar.schemas import ReservationPatch, SiteIn, ValidateIn
from jupyter_astro_ops.core.errors import Conflict, Forbidden, NotFound, ValidationError

from .conftest import at


def test_sites_from_config_and_admin(cal: Any, users: Any) -> None:
    assert [s.code for s in cal.list_sites(users["bob"])] == ["mrc", "saf"]
    with pytest.raises(Forbidden):
        cal.add_site(users["bob"], SiteIn(code="ogg", name="Haleakala"))
    site = cal.add_site(users["dave"], SiteIn(code="ogg", name="Haleakala",
                                              timezone="Pacific/Honolulu"))
    assert site.created_by == "dave"
    with pytest.raises(ValidationError):
        cal.add_site(users["alice"], SiteIn(code="xyz", name="X", timezone="Mars/Olympus"))
    with pytest.raises(Conflict):
        cal.add_site(users["alice"], SiteIn(code="ogg", name="again"))


def test_create_defaults(book: Any) -> None:
    r = book("bob", 0, 2)
    assert (r.creator_id, r.creator_name, r.title) == ("bob", "Bob", "Bob")
    assert (r.status, r.version, r.sequence, r.origin) == ("active", 1, 0, "ptr")
    assert r.start == at(0) and r.end == at(2)


@pytest.mark.parametrize("start,end", [(1, 3), (-1, 1), (0.5, 1.5), (-1, 3), (0, 2)],
                         ids=["overlap-end", "overlap-start", "contained", "containing", "equal"])
def test_overlaps_refused(book: Any, start: float, end: float) -> None:
    first = book("bob", 0, 2)
    with pytest.raises(Conflict) as err:
        book("carol", start, end)
    assert [c.id for c in err.value.details["conflicts"]] == [first.id]


def test_touching_is_fine_and_other_site_is_independent(book: Any, cal: Any, users: Any) -> None:
    book("bob", 0, 2)
    book("carol", 2, 4)
    book("carol", -2, 0)
    book("carol", 0, 2, site="mrc")
    assert len(cal.list_reservations(users["bob"], "saf", at(-10), at(10))) == 3


@pytest.mark.parametrize("start,end", [(1, 1), (2, 1), (0, 0.001), (0, 200)],
                         ids=["zero", "negative", "too-short", "too-long"])
def test_bad_lengths_refused(book: Any, start: float, end: float) -> None:
    with pytest.raises(ValidationError):
        book("bob", start, end)


def test_unknown_site(book: Any) -> None:
    with pytest.raises(NotFound):
        book("bob", 0, 1, site="nowhere")


def test_window_query_includes_long_running(book: Any, cal: Any, users: Any) -> None:
    long = book("bob", 0, 100)
    inside = book("carol", 100, 101)
    # a window inside the long reservation finds it (Photon Ranch's end-only query did not)
    rows = cal.list_reservations(users["dave"], "saf", at(50), at(51))
    assert [r.id for r in rows] == [long.id]
    rows = cal.list_reservations(users["dave"], None, at(99), at(100.5))
    assert [r.id for r in rows] == [long.id, inside.id]
    assert cal.list_reservations(users["dave"], "saf", at(101), at(102)) == []


def test_active_at_is_half_open(book: Any, cal: Any, users: Any) -> None:
    a = book("bob", 0, 2)
    b = book("carol", 2, 4)
    assert [r.id for r in cal.active_at(users["dave"], "saf", at(2))] == [b.id]
    assert [r.id for r in cal.active_at(users["dave"], "saf", at(0))] == [a.id]
    assert cal.active_at(users["dave"], "saf", at(4)) == []


def test_validate_does_not_book(book: Any, cal: Any, users: Any) -> None:
    a = book("bob", 0, 2)
    ans = cal.validate(users["carol"], ValidateIn(site="saf", start=at(1), end=at(3)))
    assert not ans.ok and [c.id for c in ans.conflicts] == [a.id]
    ans = cal.validate(users["bob"], ValidateIn(site="saf", start=at(1), end=at(3),
                                                ignore_id=a.id))
    assert ans.ok
    assert len(cal.list_reservations(users["bob"], "saf", at(-5), at(5))) == 1


@pytest.mark.parametrize("who,allowed", [("carol", False), ("bob", True), ("dave", True),
                                         ("alice", True)])
def test_permission_matrix(book: Any, cal: Any, users: Any, who: str, allowed: bool) -> None:
    r = book("bob", 0, 2)
    calls = [
        lambda: cal.modify(users[who], r.id, ReservationPatch(title="x")),
        lambda: cal.set_project(users[who], [r.id], None),
        lambda: cal.cancel(users[who], r.id),
    ]
    for call in calls:
        if allowed:
            call()
        else:
            with pytest.raises(Forbidden):
                call()


def test_modify_versions_and_overlap(book: Any, cal: Any, users: Any) -> None:
    r = book("bob", 0, 2)
    other = book("carol", 3, 4)
    moved = cal.modify(users["bob"], r.id, ReservationPatch(start=at(1), end=at(3), version=1))
    assert (moved.version, moved.sequence, moved.start) == (2, 1, at(1))
    with pytest.raises(Conflict):  # stale version
        cal.modify(users["bob"], r.id, ReservationPatch(note="late", version=1))
    with pytest.raises(Conflict) as err:  # would overlap carol's
        cal.modify(users["bob"], r.id, ReservationPatch(end=at(3.5)))
    assert [c.id for c in err.value.details["conflicts"]] == [other.id]
    with pytest.raises(ValidationError):
        cal.modify(users["bob"], r.id, ReservationPatch(end=at(0.5)))
    assert cal.get(users["bob"], r.id).version == 2


def test_cancel_keeps_row_and_frees_slot(book: Any, cal: Any, users: Any) -> None:
    r = book("bob", 0, 2)
    gone = cal.cancel(users["bob"], r.id)
    assert (gone.status, gone.sequence, gone.version) == ("cancelled", 1, 2)
    assert gone.cancelled_at is not None
    with pytest.raises(Conflict):
        cal.cancel(users["bob"], r.id)
    book("carol", 0, 2)
    rows = cal.list_reservations(users["bob"], "saf", at(0), at(2), include_cancelled=True)
    assert sorted(x.status for x in rows) == ["active", "cancelled"]


def test_projects_need_membership(book: Any, cal: Any, users: Any, project: int) -> None:
    with pytest.raises(Forbidden):
        book("carol", 0, 1, project_id=project)
    r = book("bob", 0, 1, project_id=project)
    assert r.project_id == project
    with pytest.raises(Forbidden):  # dave may edit any booking but is no member of m31
        cal.set_project(users["dave"], [r.id], None)
    assert cal.set_project(users["bob"], [r.id], None)[0].project_id is None
    with pytest.raises(ValidationError):
        cal.set_project(users["bob"], [r.id], 9999)


def test_user_reservations(book: Any, cal: Any, users: Any) -> None:
    a = book("bob", 0, 1)
    b = book("bob", 5, 6)
    book("carol", 2, 3)
    assert [r.id for r in cal.user_reservations(users["carol"], "bob", at(0.5))] == [a.id, b.id]
    assert [r.id for r in cal.user_reservations(users["carol"], "bob", at(1))] == [b.id]


def test_every_change_is_an_activity_event(book: Any, cal: Any, users: Any, db: Any) -> None:
    r = book("bob", 0, 1)
    cal.modify(users["bob"], r.id, ReservationPatch(note="n"))
    cal.cancel(users["bob"], r.id)
    with db.read() as session:
        rows = session.execute(select(ActivityEvent.action, ActivityEvent.object_type)
                               .where(ActivityEvent.object_id == r.id)
                               .order_by(ActivityEvent.seq)).all()
    assert [tuple(e) for e in rows] == [
        ("ADD", "RESERVATION"), ("MOD", "RESERVATION"), ("DEL", "RESERVATION")]


def test_import_origin_needs_admin(cal: Any, users: Any) -> None:
    from jupyter_astro_ops.calendar.schemas import ReservationIn

    spec = ReservationIn(site="saf", start=at(10), end=at(11), type="project")
    with pytest.raises(Forbidden):
        cal.create(users["bob"], spec, origin="lco", external_id="42")
    r = cal.create(users["dave"], spec, origin="lco", external_id="42")
    assert (r.origin, r.external_id) == ("lco", "42")
    assert [x.id for x in cal.cancel_imported_after(users["dave"], "saf", at(0))] == [r.id]


def test_lengthened_reservation_is_found_mid_window(book: Any, cal: Any, users: Any) -> None:
    """Growing a booking widens the site's span, so window reads still reach its start."""
    r = book("bob", 0, 1)
    cal.modify(users["bob"], r.id, ReservationPatch(end=at(150)))
    assert [x.id for x in cal.list_reservations(users["carol"], "saf", at(120), at(121))] == [r.id]
    assert [x.id for x in cal.active_at(users["carol"], "saf", at(149.99))] == [r.id]
    assert cal.validate(users["carol"], ValidateIn(site="saf", start=at(140), end=at(141))).ok \
        is False


def test_unknown_site_is_404_before_the_project_check(book: Any, project: int) -> None:
    with pytest.raises(NotFound):
        book("carol", 0, 1, site="nowhere", project_id=project)  # carol is no member


def test_a_non_member_is_refused_before_the_overlap(book: Any, project: int) -> None:
    book("bob", 0, 2)
    with pytest.raises(Forbidden):
        book("carol", 1, 3, project_id=project)


def test_booking_conflicts_list_every_active_blocker_in_start_order(book: Any, cal: Any,
                                                                    users: Any) -> None:
    long_one = book("bob", -100, 1)  # starts long before the window: found through the span
    short = book("bob", 2, 3)
    cancelled = book("bob", 3.5, 4)
    cal.cancel(users["bob"], cancelled.id)
    book("bob", 5, 6)  # touches the window's end: not in the way
    with pytest.raises(Conflict) as err:
        book("carol", 0.5, 5)
    assert [c.id for c in err.value.details["conflicts"]] == [long_one.id, short.id]
    assert book("carol", 3.25, 5).id  # the cancelled slot is free


def test_booking_event_and_row_commit_together(book: Any, cal: Any, users: Any, db: Any) -> None:
    r = book("bob", 0, 1, note="n1")
    with db.read() as session:
        event = session.execute(select(ActivityEvent).where(
            ActivityEvent.object_id == r.id)).scalar_one()
        assert (event.action, event.status, event.username) == ("ADD", "SUCCESS", "bob")
        assert event.data["start"] == "2030-01-01T00:00:00Z" and event.seq > 0
    assert cal.get(users["bob"], r.id) == r  # what create returned is what is stored


def test_a_reused_reservation_id_is_a_conflict(cal: Any, users: Any) -> None:
    """The row goes in on the driver; its unique violation still answers 409, and nothing of
    the refused booking (no second event) is left."""
    from jupyter_astro_ops.calendar.schemas import ReservationIn

    first = cal.create(users["bob"], ReservationIn(site="saf", start=at(0), end=at(1)),
                       reservation_id="a" * 32)
    with pytest.raises(Conflict, match="already exists"):
        cal.create(users["bob"], ReservationIn(site="mrc", start=at(0), end=at(1)),
                   reservation_id=first.id)
    with cal.db.read() as session:
        events = session.scalars(select(ActivityEvent.id).where(
            ActivityEvent.object_id == first.id)).all()
    assert len(events) == 1


def test_a_booking_past_the_check_meets_the_exclusion_constraint(
        cal: Any, users: Any, db: Any, monkeypatch: Any) -> None:
    """PostgreSQL: a booking whose check raced with another's commit is stopped by the
    exclusion constraint at the insert, and still answered with the reservation in the way."""
    from jupyter_astro_ops.calendar.schemas import ReservationIn
    from jupyter_astro_ops.calendar.writes import Probe

    if db.dialect != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL only")
    winner = cal.create(users["bob"], ReservationIn(site="saf", start=at(0), end=at(2)))
    blind = cal.writer.probe

    def raced(tx: Any, window: Any) -> Probe:  # what a check made before the commit saw
        return Probe(window, blind(tx, window).span, [])

    monkeypatch.setattr(cal.writer, "probe", raced)
    with pytest.raises(Conflict) as err:
        cal.create(users["carol"], ReservationIn(site="saf", start=at(1), end=at(3)))
    assert [c.id for c in err.value.details["conflicts"]] == [winner.id]
    assert [r.id for r in cal.list_reservations(users["bob"], "saf", at(-1), at(4))] == [
        winner.id]
