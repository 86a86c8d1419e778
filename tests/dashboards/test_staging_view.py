"""The Staging Viewer on a real database (SQLite and PostgreSQL) with the real service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jupyter_astro_ops.compose import Services, StagingParts
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import User
from jupyter_astro_ops.dashboards.staging_source import StagingSource
from jupyter_astro_ops.dashboards.staging_text import human_bytes, parent
from jupyter_astro_ops.dashboards.staging_view import StagingDashboard
from jupyter_astro_ops.staging.schemas import JobCreate, JobQuery, SourceRef

from ..conftest import make_services

DATA = {"night1/frame000.fits": b"SIMPLE  =  T" + bytes(range(256)) * 40,
        "night1/calib/bias.fits": b"\x00\xff" * 3000,
        "single.fits": b"x" * 1234}


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    top = tmp_path / "archive"
    for rel, data in DATA.items():
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_bytes(data)
    return top


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture
def services(db: Database, archive: Path, home: Path, tmp_path: Path) -> Services:
    (tmp_path / "drop").mkdir()
    roots = {"archive": {"url": f"file://{archive}", "description": "raw frames"},
             "drop": {"url": f"file://{tmp_path / 'drop'}", "writable": True,
                      "roles": ["stager"]}}
    config = {"StagingService": {"roots": roots, "progress_interval": 0.05,
                                 "poll_interval": 0.1},
              "FeedHub": {"poll_interval": 0.1}}
    return make_services(db, config, str(home))


@pytest.fixture
def staging(services: Services) -> StagingParts:
    return services.staging


def dashboard(staging: StagingParts, user: User) -> StagingDashboard:
    dash = StagingDashboard(source=StagingSource(staging, user))
    dash.load()
    return dash


def select_entry(dash: StagingDashboard, name: str) -> None:
    paths = list(dash.listing["path"])
    dash._ls_table.selection = [[p.rsplit("/", 1)[-1] for p in paths].index(name)]


async def wait_final(dash: StagingDashboard, job_id: str) -> None:
    """Bounded wait for the runner (not a timing assertion)."""
    for _ in range(400):
        dash.apply_jobs([dash.source_api.job(job_id)])
        if dash.jobs.loc[job_id, "status"] in ("succeeded", "failed", "cancelled"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(dash.jobs.loc[job_id].to_dict())


def test_browsing_lists_the_root(staging, users) -> None:
    dash = dashboard(staging, users["carol"])
    assert dash.param.root.objects == ["archive", "drop"]  # carol is a stager
    assert dash.root == "archive" and dash.path == ""
    assert sorted(dash.listing["path"]) == ["night1", "single.fits"]
    assert dash.listing.set_index("path").loc["single.fits", "size"] == "1.2 KiB"
    assert dash.listing.set_index("path").loc["night1", "size"] == "folder"
    assert dash.picked == "all of archive (1 file, 1.2 KiB; 1 folder)"  # no row: the root
    select_entry(dash, "night1")
    assert dash.source_path == "night1"
    assert dash.picked == "night1/ (1 file, 10.0 KiB; 1 folder)"  # size and count
    assert "raw frames" in _text(dash._root_text())  # the root's description
    dash._buttons["Open"].clicks += 1
    assert dash.path == "night1" and dash.source_path == "night1"
    assert dash._ls_table.selection == []
    assert sorted(dash.listing["path"]) == ["night1/calib", "night1/frame000.fits"]
    dash.up()
    assert dash.path == ""
    assert dashboard(staging, users["dave"]).param.root.objects == ["archive"]  # no role


def test_browsing_outside_the_root_is_refused(staging, users) -> None:
    dash = dashboard(staging, users["carol"])
    dash.browse("../..")
    assert dash.notice.startswith("Refused") and dash.path == ""


def test_starting_a_job_from_the_form_lists_it(staging, users, home) -> None:
    dash = dashboard(staging, users["carol"])
    select_entry(dash, "single.fits")
    dash.target = "raw/"
    dash._buttons["Start staging"].clicks += 1
    assert dash.notice.startswith(r"Queued archive:single\.fits → raw/single\.fits")
    assert dash.notice_kind == "success" and job_id_not_in(dash.notice, dash)
    (job_id,) = dash.jobs.index
    assert dash.selected_job == job_id
    row = dash.jobs.loc[job_id]
    assert (row["status"], row["source"], row["target"]) == (
        "queued", "archive:single.fits", "raw/single.fits")
    assert not dash._buttons["Cancel job"].disabled
    assert "queued" in dash.log_text
    assert [j.id for j in staging.service.list_jobs(users["carol"], JobQuery())] == [job_id]
    assert not (home / "raw").exists()  # nothing runs without the runner


def test_a_bad_target_is_refused(staging, users) -> None:
    dash = dashboard(staging, users["carol"])
    dash.source_path, dash.target = "single.fits", "../escape.fits"
    dash.start_job()
    assert dash.notice.startswith("Refused") and dash.jobs.empty


async def test_a_job_runs_to_completion(services, staging, users, home) -> None:
    dash = dashboard(staging, users["carol"])
    select_entry(dash, "night1")
    dash.start_job()
    (job_id,) = dash.jobs.index
    await services.staging.runner.start()
    try:
        await wait_final(dash, job_id)
    finally:
        await services.staging.runner.stop()
    row = dash.jobs.loc[job_id]
    assert (row["status"], row["files"], row["files_pct"], row["bytes_pct"]) == (
        "succeeded", "2/2", 100.0, 100.0)
    assert (home / "night1" / "calib" / "bias.fits").read_bytes() == DATA[
        "night1/calib/bias.fits"]
    dash._job_selected()
    assert "finished" in dash.log_text
    assert dash._buttons["Cancel job"].disabled
    assert dash.notice == ""  # "Queued ..." went when the job moved on


def test_cancel_a_queued_job(staging, users) -> None:
    dash = dashboard(staging, users["carol"])
    dash.source_path = "single.fits"
    dash.start_job()
    dash._buttons["Cancel job"].clicks += 1
    (job_id,) = dash.jobs.index
    assert dash.jobs.loc[job_id, "status"] == "cancelled"
    assert staging.service.get_job(users["carol"], job_id).status == "cancelled"


def test_users_only_see_their_own_jobs(staging, users) -> None:
    mine = staging.service.create_job(users["bob"], JobCreate(source=SourceRef(root="archive",
                                                                       path="single.fits")))
    dash = dashboard(staging, users["carol"])
    assert dash.jobs.empty
    dash.selected_job = mine.id  # even when forced, the service hides it
    assert dash.notice.startswith("Refused") and dash.log_text == ""
    dash.cancel_job()
    assert staging.service.get_job(users["bob"], mine.id).status == "queued"
    assert list(dashboard(staging, users["bob"]).jobs.index) == [mine.id]


def test_create_file_in_a_writable_root(staging, users, tmp_path) -> None:
    dash = dashboard(staging, users["carol"])
    assert not dash._create_box.visible  # archive is read-only
    dash.root = "drop"
    assert dash._create_box.visible
    dash.new_file, dash.new_content = "notes/obs.txt", "seeing 0.8\""
    dash._buttons["Create file"].clicks += 1
    assert dash.notice == r"Wrote 11 bytes to drop:notes/obs\.txt."
    assert (tmp_path / "drop" / "notes" / "obs.txt").read_text() == "seeing 0.8\""
    assert list(dash.listing["path"]) == ["notes"]
    dash.root = "archive"
    dash.create_file()
    assert dash.notice.startswith("Refused") and dash.notice_kind == "error"
    dash.root = "drop"  # a refusal about another root is stale here
    assert dash.notice == ""


async def test_follow_updates_progress_and_log(services, staging, users) -> None:
    dash = dashboard(staging, users["carol"])
    hub = services.activity.feed
    await hub.start()
    task = asyncio.ensure_future(dash.follow(hub))
    await services.staging.runner.start()
    try:
        job = await asyncio.to_thread(staging.service.create_job, users["carol"], JobCreate(
            source=SourceRef(root="archive", path="night1"), target="n1"))
        await asyncio.to_thread(staging.service.create_job, users["bob"], JobCreate(
            source=SourceRef(root="archive", path="single.fits")))
        dash.selected_job = job.id
        for _ in range(400):  # bounded wait for the feed to deliver (not a timing assertion)
            if job.id in dash.jobs.index and dash.jobs.loc[job.id, "status"] == "succeeded" \
                    and "finished" in dash.log_text:
                break
            await asyncio.sleep(0.05)
        assert dash.jobs.loc[job.id, "status"] == "succeeded"
        assert "finished" in dash.log_text
        assert list(dash.jobs.index) == [job.id]  # bob's job never shows up
    finally:
        task.cancel()
        await services.staging.runner.stop()
        await hub.stop()


def test_helpers() -> None:
    assert human_bytes(1536) == "1.5 KiB" and human_bytes(None) == ""
    assert parent("a/b/c") == "a/b" and parent("a") == ""


def job_id_not_in(text: str, dash: StagingDashboard) -> bool:
    return all(job_id[:8] not in text for job_id in dash.jobs.index)


def test_empty_states_say_what_to_do(staging, users, tmp_path) -> None:
    dash = dashboard(staging, users["carol"])
    assert dash.jobs.empty and not dash._jobs_view.showing_table
    assert "press **Start staging**" in dash._jobs_view.empty.object
    dash.root = "drop"  # an empty writable root
    assert dash.listing.empty and not dash._ls_view.showing_table
    assert "This folder is empty" in dash._ls_view.empty.object
    dash.source_path = "single.fits"
    dash.root = "archive"
    dash.start_job()
    assert dash._jobs_view.showing_table


def _text(view: object) -> str:
    return "\n".join(str(getattr(obj, "object", "")) for obj in view.select())  # type: ignore[attr-defined]
