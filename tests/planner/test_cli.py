"""``jupyter astro-ops planner import night|leave`` and the periodic loops (SQLite and
PostgreSQL): the CLI runs the same importer, the loops start only when configured."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from jupyter_astro_ops.planner.schemas import EmployeeIn

from ..conftest import make_services
from .conftest import PLANNER_ROLES

NIGHT = ("date,role,person\n2030-01-07,night_attendant,bob\n2030-01-07,oa,carol\n"
         "2030-01-08,night_attendant,nemo\n")


def _seed(db: Any) -> None:
    employees = make_services(db).planner.employees
    admin = employees.identity()
    for name, role in (("bob", "night_attendant"), ("carol", "observing_assistant")):
        employees.save_employee(admin, name, EmployeeIn(display_name=name.title(),
                                                        roles=[role]))


def test_cli_import(tmp_path: Path, db_url: str, db: Any) -> None:
    _seed(db)
    night = tmp_path / "night.csv"
    night.write_text(NIGHT)
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "jupyter_server_config.json").write_text(json.dumps({
        "AstroOpsApp": {"db_url": db_url, "roles": PLANNER_ROLES}}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(cfg), "JUPYTER_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "jupyter_astro_ops.cli.main", "planner", "import", "night",
           "--source", night.as_uri()]
    dry = subprocess.run([*cmd, "--dry-run"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "added 2" in dry.stdout and "dry run" in dry.stdout
    assert "problem: row 3: unknown person 'nemo'" in dry.stdout
    real = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert real.returncode == 0 and "added 2" in real.stdout, real.stderr
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    # re-applied (its problem row may be fine by now) but nothing changes
    assert "added 0" in again.stdout and "unchanged 2" in again.stdout
    missing = subprocess.run([*cmd[:-1], (tmp_path / "nope.csv").as_uri()], env=env,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "no file at" in missing.stderr
    usage = subprocess.run([*cmd[:5], "payroll"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert usage.returncode == 2 and "night|leave" in usage.stderr


def test_periodic_import_and_directory_loops(db: Any, tmp_path: Path) -> None:
    listing = tmp_path / "staff.json"
    listing.write_text(json.dumps({"employees": [
        {"username": "bob", "display_name": "Bob", "roles": "night_attendant"},
        {"username": "carol", "display_name": "Carol", "roles": ["observing_assistant"]}]}))
    night = tmp_path / "night.csv"
    night.write_text(NIGHT)
    idle = make_services(db).planner
    assert not idle.importer.periodic and not idle.employees.periodic
    parts = make_services(db, {
        "FileDirectory": {"url": listing.as_uri()},
        "PlannerImporter": {"sources": {"night": night.as_uri()}, "interval_seconds": 3600},
    }).planner
    assert parts.importer.periodic and parts.employees.periodic

    async def scenario() -> None:
        await parts.employees.loop.start()
        await parts.importer.loop.start()
        for _ in range(600):  # bounded wait for the first rounds (no timing assertion)
            status = await asyncio.to_thread(parts.importer.status, parts.importer.identity())
            if status[0].ran_at is not None:
                break
            await asyncio.sleep(0.05)
        await asyncio.wait_for(parts.importer.loop.stop(), timeout=60)
        await asyncio.wait_for(parts.employees.loop.stop(), timeout=60)

    asyncio.run(scenario())
    status = parts.importer.status(parts.importer.identity())
    night_status = next(s for s in status if s.name == "night")
    assert night_status.ran_at is not None
    admin = parts.employees.identity()
    assert {e.username for e in parts.employees.list_employees(admin)} == {"bob", "carol"}
