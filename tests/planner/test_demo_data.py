"""The planner demo: ~30 employees in 4 departments with the demo users, two holidays, a
night table and leave for the coming weeks, and exactly one uncovered night (with its reason)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.demo import files
from jupyter_astro_ops.demo.cli import DemoCommand
from jupyter_astro_ops.demo.seed import demo_users

from ..conftest import make_services


def test_demo_planner(tmp_path: Path, capsys: Any) -> None:
    DemoCommand(dir=str(tmp_path / "demo"), port=0, large_file_mib=0).start()
    out = capsys.readouterr().out
    config = json.loads((tmp_path / "demo" / "config" / "jupyter_server_config.json")
                        .read_text())
    assert config["AstroOpsApp"]["roles"]["planner_admin"] == ["sched"]
    assert "planner admin" in out
    db = Database(config["AstroOpsApp"]["db_url"])
    try:
        parts = make_services(db).planner
        users = demo_users(files.load_spec())
        sched = users["sched"]
        people = parts.employees.list_employees(sched)
        assert 28 <= len(people) <= 32
        assert len({p.department for p in people}) == 4
        assert {"alice", "obs1", "obs2", "sched"} <= {p.username for p in people}
        today = date.today()
        monday = today - timedelta(days=today.weekday())
        last = monday + timedelta(days=27)
        holidays = parts.holidays.list_holidays(sched, today, today + timedelta(days=400))
        assert len(holidays) == 2
        cov = parts.service.coverage(sched, monday, last)
        gaps = cov.gaps
        assert len(gaps) == 1, [(g.day, g.rule) for g in gaps]
        assert gaps[0].rule == "Night attendant on the summit"
        assert "on Vacation" in gaps[0].conflicts[0]
        assert [c.leave for c in cov.conflicts] == ["Vacation"]
        status = {s.name: s for s in parts.importer.status(sched)}
        assert status["night"].summary["added"] >= 7 * 4 * 3
        assert status["leave"].summary["added"] > 0
        grid = parts.service.grid(sched, monday, monday + timedelta(days=6))
        kinds = {b.kind for r in grid.rows for c in r.cells for b in c.blocks}
        assert kinds >= {"stored", "default", "import"}
    finally:
        db.dispose()
    DemoCommand(dir=str(tmp_path / "demo"), port=0, large_file_mib=0).start()  # idempotent
    assert "seeded:" not in capsys.readouterr().out
