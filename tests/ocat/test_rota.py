"""The POC duty rota: weekly periods, horizon, sign up, assign, unlock, split, delete-and-merge,
no gaps, who is on duty now, and the iCal feed."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from jupyter_astro_ops.core.errors import Conflict, Forbidden, ValidationError
from jupyter_astro_ops.ocat.models import OcatRotaPeriod
from jupyter_astro_ops.ocat.rota import add_months


def no_gaps(periods: list[Any]) -> None:
    for a, b in zip(periods, periods[1:], strict=False):
        assert b.start == a.end + timedelta(days=1), (a, b)


def test_weekly_periods_to_the_horizon(ocat: Any, who: Any, clock: Any) -> None:
    periods = ocat.rota.periods(who["pocone"])
    assert periods[0].start == date(2030, 3, 4) and periods[0].start.weekday() == 0
    assert all(p.days == 7 and p.end.weekday() == 6 for p in periods)
    assert periods[-1].end >= add_months(date(2030, 3, 4), 8)
    no_gaps(periods)
    assert ocat.rota.ensure_horizon() == 0  # idempotent
    clock.advance(days=40)
    assert ocat.rota.ensure_horizon() > 0
    no_gaps(ocat.rota.periods(who["pocone"], start=date(2030, 1, 1)))


def test_signup_unlock_assign(ocat: Any, who: Any, clock: Any) -> None:
    rota = ocat.rota
    first = rota.periods(who["pocone"])[0]
    assert rota.current(who["arc"]).poc is None
    mine = rota.signup(who["pocone"], first.id, first.version)
    assert (mine.poc, mine.locked) == ("pocone", True)
    assert rota.current(who["arc"]).poc == "pocone"
    with pytest.raises(Conflict):
        rota.signup(who["poctwo"], first.id)
    with pytest.raises(Forbidden):
        rota.signup(who["arc"], rota.periods(who["arc"])[1].id)
    with pytest.raises(Forbidden):
        rota.unlock(who["poctwo"], first.id)
    with pytest.raises(Conflict):  # stale version
        rota.unlock(who["pocone"], first.id, first.version)
    freed = rota.unlock(who["pocone"], first.id)
    assert (freed.poc, freed.locked) == (None, False)
    with pytest.raises(Forbidden):
        rota.assign(who["pocone"], first.id, "poctwo")
    assert rota.assign(who["root"], first.id, "poctwo").poc == "poctwo"
    clock.advance(days=7)
    assert rota.current(who["arc"]).period.start == date(2030, 3, 11)


def test_split_only_longer_than_two_days(ocat: Any, who: Any) -> None:
    rota = ocat.rota
    week = rota.periods(who["root"])[1]
    with pytest.raises(ValidationError):
        rota.split(who["root"], week.id, week.start)
    a, b = rota.split(who["root"], week.id, week.start + timedelta(days=3))
    assert (a.days, b.days) == (3, 4)
    c, d = rota.split(who["root"], b.id, b.start + timedelta(days=1))
    assert (c.days, d.days) == (1, 3)
    with pytest.raises(Conflict):  # one day
        rota.split(who["root"], c.id, c.start)
    e, _ = rota.split(who["root"], d.id, d.start + timedelta(days=2))
    assert e.days == 2
    with pytest.raises(Conflict):  # two days: not longer than two
        rota.split(who["root"], e.id, e.start + timedelta(days=1))
    no_gaps(rota.periods(who["root"]))


def test_delete_and_merge(ocat: Any, who: Any) -> None:
    rota = ocat.rota
    periods = rota.periods(who["root"])
    with pytest.raises(Forbidden):
        rota.merge(who["pocone"], periods[1].id)
    with pytest.raises(Conflict):  # nothing before the first period
        rota.merge(who["root"], periods[0].id, "previous")
    grown = rota.merge(who["root"], periods[1].id, "previous")
    assert (grown.id, grown.start, grown.days) == (periods[0].id, periods[0].start, 14)
    grown = rota.merge(who["root"], periods[3].id, "next")
    assert (grown.id, grown.start, grown.days) == (periods[4].id, periods[3].start, 14)
    after = rota.periods(who["root"])
    no_gaps(after)
    assert after[0].start == periods[0].start


def test_rota_feed(ocat: Any, who: Any) -> None:
    first = ocat.rota.periods(who["pocone"])[0]
    ocat.rota.signup(who["pocone"], first.id)
    feed = ocat.rota_feed.feed(who["arc"])
    cal = Calendar.from_ical(feed.body)
    events = cal.walk("VEVENT")
    assert str(events[0]["SUMMARY"]) == "POC duty: pocone"
    assert events[0]["DTSTART"].dt == first.start
    assert events[0]["DTEND"].dt == first.end + timedelta(days=1)
    assert ocat.rota_feed.feed(who["arc"]).etag == feed.etag  # stable until a change


async def test_the_reminder_loop_keeps_the_horizon(ocat: Any, who: Any, clock: Any) -> None:
    ocat.rota.ensure_horizon()
    before = ocat.rota.periods(who["root"], start=date(2030, 1, 1))[-1].end
    clock.advance(days=60)
    ocat.notifier.reminders = False
    await ocat.notifier.loop.start()
    try:
        for _ in range(100):
            if ocat.notifier.loop.rounds:
                break
            await asyncio.sleep(0.05)
    finally:
        await ocat.notifier.loop.stop()
    with ocat.rota.db.read() as session:  # not through periods(), which extends it too
        after = session.scalar(select(func.max(OcatRotaPeriod.end)))
    assert after >= add_months(date(2030, 5, 3), 8) > before
