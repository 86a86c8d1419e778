"""``jupyter astro-ops demo``: config, storage and seed data, idempotent on re-runs."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from jupyter_astro_ops.activity.schemas import EventFilter
from jupyter_astro_ops.auth import TokenMapIdentityProvider
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.demo import files
from jupyter_astro_ops.demo.cli import DemoCommand
from jupyter_astro_ops.demo.seed import demo_users

from ..conftest import make_services


def _run(base: Path, capsys) -> tuple[dict, str]:
    app = DemoCommand(dir=str(base), port=0, large_file_mib=1)
    app.start()
    out = capsys.readouterr().out
    return json.loads((base / "config" / "jupyter_server_config.json").read_text()), out


def _state(db_url: str) -> tuple[list, list, list]:
    db = Database(db_url)
    try:
        act = make_services(db).activity
        users = demo_users(files.load_spec())
        projects = sorted((p.name, sorted((m.username, m.role) for m in p.members))
                          for p in act.projects.list_projects(users["alice"]))
        events = act.pages.list_events(users["alice"], EventFilter(limit=1000))
        pending = act.requests.pending_requests(users["alice"])
        return projects, [e.id for e in events], sorted(e.id for e in pending)
    finally:
        db.dispose()


def test_demo_writes_config_and_seeds_once(tmp_path: Path, capsys):
    base = tmp_path / "demo"
    config, out = _run(base, capsys)
    assert stat.S_IMODE((base / "config" / "jupyter_server_config.json").stat().st_mode) == 0o600
    tokens = config["TokenMapIdentityProvider"]["tokens"]
    TokenMapIdentityProvider(tokens=tokens)  # the provider accepts the generated map
    names = {info["username"] for info in tokens.values()}
    assert names == {"alice", "obs1", "obs2", "sched", "pocone", "poctwo", "arcone", "acisone",
                     "hrcone", "mpone"}
    for token in tokens:
        assert f"?token={token}" in out
    # the hint to start it by hand names every directory the Makefile sets (and root's flag)
    hint = out.split("Start it", 1)[1]
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime")):
        assert f"{var}={base / sub}" in hint
    assert ("--allow-root" in hint) == (os.geteuid() == 0)
    assert config["ServerApp"]["root_dir"] == str(base / "work")
    db_url = config["AstroOpsApp"]["db_url"]
    assert db_url == f"sqlite:///{base / 'astro_ops.db'}"

    projects, events, pending = _state(db_url)
    assert [name for name, _ in projects] == ["Engineering", "Exoplanet Transits",
                                              "M31 Variables"]
    assert ("obs2", "member") in dict(projects)["M31 Variables"]
    assert len(pending) == 2  # obs2's join request and obs1's project request
    assert len(events) >= 7

    assert config["Mailer"]["enabled"] is False and config["Mailer"]["test_mode"] is True
    ocat_state = _ocat_state(db_url)
    assert ocat_state["observations"] == 200
    assert {"general", "acis", "acis_si", "hrc_si", "usint_verification"} <= ocat_state["pending"]
    assert ocat_state["duty"] == "pocone"

    config2, out2 = _run(base, capsys)
    assert config2["TokenMapIdentityProvider"]["tokens"] == tokens  # tokens survive re-runs
    assert "seeded:" not in out2
    assert _state(db_url) == (projects, events, pending)
    assert _ocat_state(db_url) == ocat_state


def _ocat_state(db_url: str) -> dict:
    db = Database(db_url)
    try:
        ocat = make_services(db).ocat
        admin = demo_users(files.load_spec())["alice"]
        board = ocat.service.board(admin)
        return {"observations": len(ocat.service.list_observations(admin)),
                "board": [r.label for r in board],
                "pending": {c for r in board for c, s in r.signoffs.items()
                            if s["status"] == "pending"},
                "duty": ocat.rota.current(admin).poc}
    finally:
        db.dispose()


def test_demo_storage_is_binary_fits_and_has_a_writable_root(tmp_path: Path):
    roots = files.make_storage(tmp_path / "storage")
    assert roots["scratch"]["writable"] and not roots["archive"]["writable"]
    archive = Path(roots["archive"]["url"].removeprefix("file://"))
    fits = sorted(archive.rglob("*.fits"))
    assert len(fits) >= 3
    for path in fits:
        data = path.read_bytes()
        assert data.startswith(b"SIMPLE  =")
        assert len(data) % files.FITS_BLOCK == 0
        assert b"\r\n" in data and b"\0" in data  # real binary content
    assert files.make_storage(tmp_path / "storage") == roots


def test_pick_port_falls_back_when_taken():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert files.pick_port(taken) != taken


def test_demo_copies_the_example_notebooks_from_the_package_first(tmp_path: Path,
                                                                   monkeypatch) -> None:
    """A wheel has them at jupyter_astro_ops/demo/notebooks (setup.py), not next to it."""
    import jupyter_astro_ops.demo.cli as cli

    package = tmp_path / "site" / "jupyter_astro_ops" / "demo"
    (package / "notebooks").mkdir(parents=True)
    (package / "notebooks" / "shipped.ipynb").write_text("{}")
    monkeypatch.setattr(cli, "__file__", str(package / "cli.py"))  # as installed
    work = tmp_path / "work"
    work.mkdir()
    DemoCommand(dir=str(tmp_path), port=0)._copy_notebooks(work)
    assert [p.name for p in work.iterdir()] == ["shipped.ipynb"]


def test_demo_copies_the_notebooks_of_a_checkout(tmp_path: Path) -> None:
    DemoCommand(dir=str(tmp_path), port=0)._copy_notebooks(tmp_path)
    checkout = Path(__file__).resolve().parents[2] / "notebooks"
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == sorted(
        p.name for p in checkout.glob("*.ipynb")) != []


def test_demo_archive_has_a_large_file_written_once(tmp_path: Path) -> None:
    roots = files.make_storage(tmp_path / "storage", large_mib=3)
    mosaic = Path(roots["archive"]["url"].removeprefix("file://")) / files.LARGE_FILE
    assert mosaic.stat().st_size == files.large_fits_size(3) > 3 << 20
    with mosaic.open("rb") as fh:
        head = fh.read(files.FITS_BLOCK + 4096)
    assert head.startswith(b"SIMPLE  =") and b"NAXIS1  =                 4096" in head
    assert len(set(head[files.FITS_BLOCK:])) > 200  # varied bytes, not a sparse file of NULs
    stamp = mosaic.stat().st_mtime_ns
    files.make_storage(tmp_path / "storage", large_mib=3)
    assert mosaic.stat().st_mtime_ns == stamp  # kept, not rewritten
