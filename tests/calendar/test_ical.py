"""iCal feeds (service level, SQLite and PostgreSQL): the output parses back to the same events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from icalendar import Calendar

from jupyter_astro_ops.calendar.ical import ICalFeeds
from jupyter_astro_ops.calendar.schemas import ReservationPatch
from jupyter_astro_ops.core.errors import Forbidden, NotFound

from .conftest import at

NOW = None  # real "now": cancellations happen now, bookings are in 2030 (inside the window)


@pytest.fixture
def feeds(cal: Any) -> ICalFeeds:
    return ICalFeeds(cal, parent=cal.parent, uid_domain="test.example", future_days=5000)


def events(body: bytes) -> dict[str, Any]:
    """``{uid: VEVENT}`` of an iCal document."""
    cal = Calendar.from_ical(body)
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def test_site_feed_round_trips(feeds: ICalFeeds, book: Any, cal: Any, users: Any,
                               project: int) -> None:
    a = book("bob", 0, 2, note="bring the\nfilters", project_id=project, type="project")
    b = book("carol", 2, 3.5, title="Engineering")
    book("carol", 0, 2, site="mrc")
    feed = feeds.site_feed(users["carol"], "saf", now=NOW)
    doc = Calendar.from_ical(feed.body)
    assert str(doc["x-wr-calname"]) == "Astro Ops: Santa Fe (saf)"
    assert str(doc["version"]) == "2.0" and "jupyter_astro_ops" in str(doc["prodid"])
    got = events(feed.body)
    assert set(got) == {f"{a.id}@test.example", f"{b.id}@test.example"}
    ev = got[f"{a.id}@test.example"]
    assert ev.decoded("dtstart") == at(0) and ev.decoded("dtend") == at(2)
    assert ev.decoded("dtstart").utcoffset() == timedelta(0)
    assert b"DTSTART:20300101T000000Z" in feed.body  # UTC form, no VTIMEZONE needed
    assert str(ev["summary"]) == "Bob"
    assert int(ev["sequence"]) == 0 and str(ev["status"]) == "CONFIRMED"
    assert ev.decoded("dtstamp") == a.modified.replace(microsecond=0)  # iCal has seconds
    description = str(ev["description"])
    assert "Type: project" in description and "Project: m31" in description
    assert "bring the\nfilters" in description
    assert str(got[f"{b.id}@test.example"]["summary"]) == "Engineering"
    assert feed.last_modified == max(a.modified, b.modified)


def test_sequence_grows_and_cancelled_is_published(feeds: ICalFeeds, book: Any, cal: Any,
                                                   users: Any) -> None:
    r = book("bob", 0, 2)
    first = feeds.site_feed(users["bob"], "saf", now=NOW)
    cal.modify(users["bob"], r.id, ReservationPatch(start=at(1), end=at(3)))
    moved = feeds.site_feed(users["bob"], "saf", now=NOW)
    ev = events(moved.body)[f"{r.id}@test.example"]
    assert int(ev["sequence"]) == 1 and ev.decoded("dtstart") == at(1)
    assert moved.etag != first.etag
    cal.cancel(users["bob"], r.id)
    gone = events(feeds.site_feed(users["bob"], "saf", now=NOW).body)
    ev = gone[f"{r.id}@test.example"]
    assert str(ev["status"]) == "CANCELLED" and int(ev["sequence"]) == 2
    # the same UID all along, so clients update the event instead of adding a copy
    assert list(gone) == [f"{r.id}@test.example"]


def test_cancelled_kept_only_for_a_while(feeds: ICalFeeds, book: Any, cal: Any,
                                         users: Any) -> None:
    r = book("bob", 0, 2)
    cancelled = cal.cancel(users["bob"], r.id)
    assert cancelled.cancelled_at is not None
    feeds.cancelled_days = 3
    soon = cancelled.cancelled_at + timedelta(days=2)
    later = cancelled.cancelled_at + timedelta(days=4)
    assert events(feeds.site_feed(users["bob"], "saf", now=soon).body)
    assert not events(feeds.site_feed(users["bob"], "saf", now=later).body)


def test_window_and_stable_output(feeds: ICalFeeds, book: Any, cal: Any, users: Any) -> None:
    r = book("bob", 0, 2)
    feeds.past_days, feeds.future_days = 1, 1
    assert events(feeds.site_feed(users["bob"], "saf", now=at(-12)).body)
    assert not events(feeds.site_feed(users["bob"], "saf", now=at(-48)).body)
    assert not events(feeds.site_feed(users["bob"], "saf", now=at(48)).body)
    one = feeds.site_feed(users["bob"], "saf", now=at(-12))
    two = feeds.site_feed(users["bob"], "saf", now=at(-11))
    assert (one.body, one.etag) == (two.body, two.etag)  # nothing changed, same bytes
    assert r.id in one.body.decode()


def test_user_feed_and_its_readers(feeds: ICalFeeds, book: Any, cal: Any, users: Any) -> None:
    mine = book("bob", 0, 2)
    book("carol", 2, 4)
    other_site = book("bob", 5, 6, site="mrc")
    feed = feeds.user_feed(users["bob"], "bob", now=NOW)
    assert set(events(feed.body)) == {f"{mine.id}@test.example",
                                      f"{other_site.id}@test.example"}
    assert str(Calendar.from_ical(feed.body)["x-wr-calname"]) == "Astro Ops: bob"
    cal.cancel(users["bob"], mine.id)
    again = events(feeds.user_feed(users["bob"], "bob", now=NOW).body)
    assert str(again[f"{mine.id}@test.example"]["status"]) == "CANCELLED"
    with pytest.raises(Forbidden):
        feeds.user_feed(users["carol"], "bob", now=NOW)
    for reader in ("alice", "dave"):  # admin, calendar_admin
        assert events(feeds.user_feed(users[reader], "bob", now=NOW).body)


def test_unknown_site_is_not_found(feeds: ICalFeeds, cal: Any, users: Any) -> None:
    with pytest.raises(NotFound):
        feeds.site_feed(users["bob"], "nowhere", now=NOW)
