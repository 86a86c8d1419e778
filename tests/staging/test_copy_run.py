"""One copy run from the inside (SQLite and PostgreSQL): what a file swapped after planning
can and cannot do, and what the stored plan says about each file afterwards.

Planning confines the tree; the copy opens each file again with ``O_NOFOLLOW``, so a file
replaced by a link after planning is only followed when the link still resolves inside the
root, and a link out fails that one file (nothing from outside is read or written). The file
states are written back in batches (Core ``executemany``); a failed file keeps its size and
gets its error, a copied one its checksum.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import xxhash
from sqlalchemy import select

from jupyter_astro_ops.staging import places
from jupyter_astro_ops.staging.jobs import Flags, JobRun
from jupyter_astro_ops.staging.models import StagingFile
from jupyter_astro_ops.staging.schemas import JobCreate

from ..conftest import make_services


def _setup(db: Any, users: Any, tmp_path: Path) -> tuple[Any, Any, Path, Path]:
    root, home, outside = tmp_path / "root", tmp_path / "home", tmp_path / "outside"
    for d in (root / "run" / "sub", home, outside):
        d.mkdir(parents=True)
    for name in ("a.fits", "b.fits", "c.fits"):
        (root / "run" / "sub" / name).write_bytes(name.encode() * 1000)
    (root / "other.fits").write_bytes(b"inside the root" * 100)
    (outside / "secret.txt").write_bytes(b"not yours")
    services = make_services(db, {"StagingService": {"roots": {"root": {"url": root.as_uri()}}}},
                             str(home))
    job = services.staging.service.create_job(users["bob"], JobCreate.model_validate(
        {"source": {"root": "root", "path": "run"}, "target": "copy"}))
    return services, job, root, home


def _run_with_swaps(services: Any, job: Any, swap: Any) -> JobRun:
    """Plan the job, let ``swap`` change the source tree, then copy what was planned."""
    svc = services.staging.service
    [job_id] = svc.store.claim(1)
    assert job_id == job.id
    run = JobRun(svc.store, svc.store.load_job(job_id), svc.storage.named("root"),
                 services.staging.runner.files_pool, svc.settings(),
                 Flags(cancel=threading.Event(), shutdown=threading.Event()))
    planned = run._plan()
    swap()
    run._execute(planned)
    return run


def _rows(db: Any, job_id: str) -> dict[str, tuple[str, int, str | None, str | None]]:
    """relpath -> (state, size, checksum, error) as stored."""
    f = StagingFile
    with db.read() as session:
        return {r.relpath: (r.state, r.size, r.checksum, r.error) for r in session.execute(
            select(f.relpath, f.state, f.size, f.checksum, f.error).where(f.job_id == job_id))}


def test_a_file_swapped_for_a_link_out_after_planning_fails_alone(db, users, tmp_path) -> None:
    services, job, root, home = _setup(db, users, tmp_path)
    victim = root / "run" / "sub" / "b.fits"

    def swap() -> None:
        victim.unlink()
        victim.symlink_to(tmp_path / "outside" / "secret.txt")

    run = _run_with_swaps(services, job, swap)
    assert run.counts["failed"] == 1 and run.counts["copied"] == 2
    assert "leads outside its root" in run.errors[0]
    assert sorted(os.listdir(home / "copy" / "sub")) == ["a.fits", "c.fits"]
    run._flush()
    rows = _rows(db, job.id)
    state, size, checksum, error = rows["sub/b.fits"]
    assert (state, size, checksum) == ("failed", 6000, None)  # the planned size stays
    assert "leads outside" in (error or "")
    a = (root / "run" / "sub" / "a.fits").read_bytes()
    assert rows["sub/a.fits"] == ("done", 6000, "xxh3_128:" + xxhash.xxh3_128_hexdigest(a),
                                  None)


def test_a_file_swapped_for_a_link_inside_is_copied_as_its_target(db, users, tmp_path) -> None:
    services, job, root, home = _setup(db, users, tmp_path)
    victim = root / "run" / "sub" / "c.fits"

    def swap() -> None:
        victim.unlink()
        victim.symlink_to(root / "other.fits")

    run = _run_with_swaps(services, job, swap)
    assert run.counts == {"copied": 3, "skipped": 0, "failed": 0,
                          "bytes": 6000 * 2 + len(b"inside the root" * 100)}
    copied = home / "copy" / "sub" / "c.fits"
    assert not copied.is_symlink()
    assert copied.read_bytes() == (root / "other.fits").read_bytes()


def test_the_final_write_stores_the_last_states_and_a_late_cancel_wins(db, users,
                                                                      tmp_path) -> None:
    """A run that went to its end writes its last file states with its final status, in one
    transaction; a cancel that arrived after the last progress write still makes the job
    cancelled (as that write would have)."""
    services, job, root, home = _setup(db, users, tmp_path)
    run = _run_with_swaps(services, job, lambda: None)
    svc = services.staging.service
    svc.cancel_job(users["bob"], job.id)  # running: only asks
    svc.store.finish(job.id, "succeeded", "finished", [], run, run.take_pending())
    done = svc.get_job(users["bob"], job.id)
    assert done.status == "cancelled" and done.error == "cancelled by bob"
    assert done.files_done == 3 and done.bytes_done == done.bytes_total == 6000 * 3
    assert {state for state, *_ in _rows(db, job.id).values()} == {"done"}


def test_a_name_taken_after_its_directory_was_found_empty_is_replaced_whole(
        db, users, tmp_path, monkeypatch) -> None:
    """Batches into a directory that held nothing look up no name first; a file that appears
    there meanwhile makes its link fail, and ``Transfer`` replaces it with the verified copy
    (the same outcome as a name taken before the job started)."""
    services, job, root, home = _setup(db, users, tmp_path)
    real = places.is_empty_dir
    judged: list[str] = []

    def empty_then_taken(directory: str) -> bool:
        answer = real(directory)
        judged.append(directory)
        Path(directory, "b.fits").write_bytes(b"written meanwhile")
        return answer

    monkeypatch.setattr(places, "is_empty_dir", empty_then_taken)
    run = _run_with_swaps(services, job, lambda: (home / "copy" / "sub").mkdir(parents=True))
    assert judged == [str(home / "copy" / "sub")]  # an existing directory, found empty
    assert run.batches and run.places.fresh == {str(home / "copy" / "sub")}
    assert run.counts == {"copied": 3, "skipped": 0, "failed": 0, "bytes": 18000}
    for name in ("a.fits", "b.fits", "c.fits"):
        assert (home / "copy" / "sub" / name).read_bytes() == name.encode() * 1000
    assert sorted(os.listdir(home / "copy" / "sub")) == ["a.fits", "b.fits", "c.fits"]
