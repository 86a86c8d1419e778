"""The timeline's bar labels: never drawn over the next bar of their row."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from jupyter_astro_ops.dashboards.calendar_timeline import labels

MONDAY = datetime(2030, 1, 7, tzinfo=timezone.utc)
WEEK = (MONDAY, MONDAY + timedelta(days=7))
DAY = (MONDAY + timedelta(days=1), MONDAY + timedelta(days=2))


def bar(site: str, start_h: float, end_h: float, title: str, who: str = "Observer"):
    return {"site": site, "title": title, "who": who,
            "start_utc": MONDAY + timedelta(hours=start_h),
            "end_utc": MONDAY + timedelta(hours=end_h)}


def test_a_label_stops_before_the_next_bar_of_its_row() -> None:
    # the demo's two back-to-back bookings at Santa Fe, and one at another site
    rows = [bar("saf", 29, 31, "Observer Two"), bar("saf", 26, 29, "Observer One"),
            bar("mrc", 26, 29, "Observer Three")]
    # a week: three hours are a few pixels; the first label would cover the second bar
    assert labels(rows, WEEK) == ["Observer Two", "", "Observer Three"]
    # a day: the bars are wide; the first label is cut to its three hours, the last ones run on
    assert labels(rows, DAY) == ["Observer Two · Observer", "Observer O…",
                                 "Observer Three · Observer"]


def test_a_long_title_on_a_narrow_bar_is_shortened_and_a_bar_before_the_window_counts() -> None:
    rows = [bar("saf", -30, 27, "Instrument commissioning run"),  # began before the window
            bar("saf", 27.5, 28.5, "Calibration of the whole focal plane")]
    # the first has 3.5 hours of the day's window before the next bar, not 57.5
    assert labels(rows, DAY) == ["Instrument c…", "Calibration of …"]
    assert labels([], WEEK) == []


def test_a_title_that_is_the_bookers_name_is_shown_once() -> None:
    assert labels([bar("saf", 26, 31, "Observer One", who="Observer One")], DAY) == [
        "Observer One"]
