"""Links that lead out of a root never become a way out (SQLite and PostgreSQL).

A symlinked tree is followed later by whoever opens the link (the Jupyter contents API, a
terminal), so every link below it must stay inside the root: checked when the job is created
and again when the link is made. File links and directory links, direct and through a
directory link inside the root, in read-only and writable roots; nothing is written on
refusal. And ``create-file`` refuses a planted link with a 4xx, and a stale temporary name never
blocks a later write.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_astro_ops.core.errors import Forbidden
from jupyter_astro_ops.staging.schemas import CreateFileBody, JobCreate

from ..conftest import make_services

OUT_FILE = "file"
OUT_DIR = "dir"


@pytest.fixture(params=["read-only", "writable"])
def tree(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A root with a clean tree and trees holding links that lead out (or stay in)."""
    root, outside, home = tmp_path / "root", tmp_path / "outside", tmp_path / "home"
    for d in (root / "clean" / "sub", outside / "d", home):
        d.mkdir(parents=True)
    (outside / "secret.txt").write_text("not yours")
    (root / "clean" / "sub" / "a.fits").write_bytes(b"\x00\x01" * 100)
    (root / "clean" / "inner").symlink_to(root / "clean" / "sub")  # a link that stays in
    for kind, target in ((OUT_FILE, outside / "secret.txt"), (OUT_DIR, outside / "d")):
        (root / f"leaky-{kind}" / "deep").mkdir(parents=True)
        (root / f"leaky-{kind}" / "deep" / "up").symlink_to(target)
        # a tree whose own link stays inside, but leads to a directory holding a way out
        (root / f"hop-{kind}").mkdir()
        (root / f"hop-{kind}" / "via").symlink_to(root / f"leaky-{kind}")
    roots = {"root": {"url": root.as_uri(), "writable": request.param == "writable"}}
    return {"root": root, "home": home, "roots": roots}


def stage(services: Any, user: Any, path: str, target: str) -> Any:
    req = JobCreate.model_validate({"source": {"root": "root", "path": path},
                                    "target": target, "method": "symlink"})
    return services.staging.service.create_job(user, req)


@pytest.mark.parametrize("source", [f"leaky-{OUT_FILE}", f"leaky-{OUT_DIR}",
                                    f"hop-{OUT_FILE}", f"hop-{OUT_DIR}"])
def test_a_tree_with_a_way_out_is_refused_before_anything(db, users, tree, source) -> None:
    services = make_services(db, {"StagingService": {"roots": tree["roots"]}}, str(tree["home"]))
    with pytest.raises(Forbidden) as refused:
        stage(services, users["bob"], source, "lnk")
    assert "leads outside the root" in refused.value.message
    assert os.listdir(tree["home"]) == []
    assert services.staging.service.list_jobs(users["bob"], _all()) == []


def test_a_tree_whose_links_stay_inside_is_linked(db, users, tree) -> None:
    services = make_services(db, {"StagingService": {"roots": tree["roots"]}}, str(tree["home"]))
    job = stage(services, users["bob"], "clean", "lnk")
    done = asyncio.run(_run(services, users["bob"], job.id))
    assert done.status == "succeeded"
    assert os.readlink(tree["home"] / "lnk") == str(tree["root"] / "clean")


def test_a_way_out_added_after_the_job_was_queued_fails_the_job(db, users, tree) -> None:
    services = make_services(db, {"StagingService": {"roots": tree["roots"]}}, str(tree["home"]))
    job = stage(services, users["bob"], "clean", "lnk")
    (tree["root"] / "clean" / "sub" / "up").symlink_to(tree["root"].parent / "outside")
    done = asyncio.run(_run(services, users["bob"], job.id))
    assert done.status == "failed" and "leads outside the root" in (done.error or "")
    assert not os.path.lexists(tree["home"] / "lnk")


async def _run(services: Any, user: Any, job_id: str) -> Any:
    await services.staging.runner.start()
    try:
        for _ in range(600):  # bounded wait (no timing assertion)
            job = await asyncio.to_thread(services.staging.service.get_job, user, job_id)
            if job.status in ("succeeded", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish")
    finally:
        await services.staging.runner.stop()


def _all() -> Any:
    from jupyter_astro_ops.staging.schemas import JobQuery

    return JobQuery()


def test_create_file_refuses_a_planted_link_and_is_not_blocked_by_it(db, users, tmp_path) -> None:
    drop, outside = tmp_path / "drop", tmp_path / "outside"
    drop.mkdir()
    outside.mkdir()
    roots = {"drop": {"url": drop.as_uri(), "writable": True}}
    browser = make_services(db, {"StagingService": {"roots": roots}}).staging.browser
    # links planted where the old code wrote its fixed temporary name, and at the target
    (drop / ".notes.txt.create.astro-part").symlink_to(outside / "stolen")
    body = CreateFileBody(filename="notes.txt", content="seeing 0.8", root="drop")
    assert browser.create_file(users["bob"], body).size == 10
    assert (drop / "notes.txt").read_text() == "seeing 0.8" and not (outside / "stolen").exists()
    (drop / "sub").symlink_to(outside)  # a directory link that leads out
    with pytest.raises(Forbidden):
        browser.create_file(users["bob"], CreateFileBody(filename="sub/x.txt", content="x",
                                                          root="drop"))
    assert os.listdir(outside) == []
    (drop / "final.txt").symlink_to(outside / "target.txt")  # a link at the final name
    browser.create_file(users["bob"], CreateFileBody(filename="final.txt", content="mine",
                                                      root="drop"))
    assert (drop / "final.txt").read_text() == "mine" and not (drop / "final.txt").is_symlink()
    assert not (outside / "target.txt").exists()  # replaced, never written through
