"""``notebooks/planner.ipynb`` runs against a live server and says who is on the summit this
week and which nights are uncovered."""

from __future__ import annotations

from datetime import date, timedelta

import requests

from .conftest import LiveServer
from .test_notebooks import execute

STAFF = {"bob": ("Bob Night", "Operations", ["night_attendant"]),
         "carol": ("Carol Assist", "Operations", ["observing_assistant"]),
         "dave": ("Dave Lead", "Engineering", ["summit_lead"])}


def _api(server: LiveServer, user: str, method: str, path: str, body: object) -> requests.Response:
    return requests.request(method, f"{server.url}astro-ops/api/v1/planner/{path}", json=body,
                            headers={"Authorization": f"token {server.token(user)}"},
                            timeout=30)


def test_planner_notebook(live_server: LiveServer) -> None:
    for name, (display, dept, roles) in STAFF.items():
        resp = _api(live_server, "alice", "PUT", f"employees/{name}",
                    {"display_name": display, "department": dept, "roles": roles})
        assert resp.status_code in (200, 201), resp.text
    today = date.today()
    tonight = today - timedelta(days=today.weekday()) + timedelta(days=2)  # this Wednesday
    resp = _api(live_server, "bob", "POST", "entries", {
        "start_date": tonight.isoformat(),
        "blocks": [{"location": "SUNight", "start": "18:00", "end": "06:00"}]})
    assert resp.status_code in (201, 409), resp.text  # 409: a re-run of this test

    _, text = execute("planner.ipynb", live_server, user="bob")
    assert "planner of bob" in text
    assert f"on the summit {tonight:%a %d %b}: Bob Night (SUNight 18:00-06:00)" in text, text
    assert "uncovered rule x day(s) this week" in text
    # nobody is rostered as observing assistant: every night of the week is uncovered
    assert text.count(": Observing assistant on the summit: 0 of 1") == 7, text
    assert "Night attendant on the summit" in text  # the other nights of bob's rule
    assert "stored " in text and "('WFH', '08:00', '12:00')" in text
    assert "refused: 403" in text and "may not set Vacation" in text
    assert "conflict: 409" in text and "overlaps" in text
    assert "cleaned up; 0 demo entries left" in text
    assert "Bob Night (bob)" in text  # whereis summary
