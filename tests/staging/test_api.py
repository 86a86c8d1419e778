"""REST tests: jobs end to end on local roots, browsing, downloads, ownership and cancel."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .conftest import make_tree, tree_files

V1 = ("v1", "staging")


async def post_job(api, user, root, path, target, method="copy"):
    return await api(user, "POST", *V1, "jobs", body={
        "source": {"root": root, "path": path}, "target": target, "method": method})


async def test_copy_tree_is_byte_identical_and_rerun_skips(staging, api, wait_job, jp_root_dir,
                                                           archive):
    status, job = await post_job(api, "bob", "archive", "night1/", "data/night1")
    assert status == 202 and job["status"] in ("queued", "running")
    done = await wait_job("bob", job["id"])
    assert done["status"] == "succeeded", done
    assert done["files_total"] == 6 and done["files_copied"] == 6
    assert done["bytes_done"] == done["bytes_total"] > 0
    assert tree_files(Path(jp_root_dir) / "data/night1") == tree_files(archive / "night1")
    assert not [p for p in Path(jp_root_dir).rglob("*.astro-part")]
    status, again = await post_job(api, "bob", "archive", "night1", "data/night1")
    again = await wait_job("bob", again["id"])
    assert again["status"] == "succeeded" and again["files_skipped"] == 6
    assert again["files_copied"] == 0


async def test_single_file_into_directory_and_renamed(staging, api, wait_job, jp_root_dir,
                                                      archive):
    src = (archive / "single.fits").read_bytes()
    _, a = await post_job(api, "bob", "archive", "single.fits", "in/")
    _, b = await post_job(api, "bob", "archive", "single.fits", "renamed.fits")
    assert a["target"] == "in/single.fits" and b["target"] == "renamed.fits"
    for job in (a, b):
        assert (await wait_job("bob", job["id"]))["status"] == "succeeded"
    assert (Path(jp_root_dir) / "in/single.fits").read_bytes() == src
    assert (Path(jp_root_dir) / "renamed.fits").read_bytes() == src


async def test_changed_target_is_replaced(staging, api, wait_job, jp_root_dir, archive):
    dst = Path(jp_root_dir) / "single.fits"
    dst.write_bytes(b"x" * (archive / "single.fits").stat().st_size)  # same size, other bytes
    _, job = await post_job(api, "bob", "archive", "single.fits", "")
    done = await wait_job("bob", job["id"])
    assert done["files_copied"] == 1
    assert dst.read_bytes() == (archive / "single.fits").read_bytes()


async def test_symlink_method(staging, api, wait_job, jp_root_dir, archive):
    _, job = await post_job(api, "bob", "archive", "night1", "linked", method="symlink")
    assert (await wait_job("bob", job["id"]))["status"] == "succeeded"
    link = Path(jp_root_dir) / "linked"
    assert link.is_symlink() and os.readlink(link) == str((archive / "night1").resolve())
    assert (archive / "night1" / "frame000.fits").stat().st_mode & 0o200  # source untouched


async def test_symlink_refused_where_not_allowed(staging, api):
    status, body = await post_job(api, "bob", "restricted", "night1", "x", method="symlink")
    assert status == 403, body


async def test_make_read_only_applies_to_copies(staging, api, wait_job, jp_root_dir, archive):
    staging.make_read_only = True
    _, job = await post_job(api, "bob", "archive", "single.fits", "ro.fits")
    assert (await wait_job("bob", job["id"]))["status"] == "succeeded"
    assert (Path(jp_root_dir) / "ro.fits").stat().st_mode & 0o777 == 0o444
    assert (archive / "single.fits").stat().st_mode & 0o200


async def test_roots_methods_and_ls(staging, api):
    status, roots = await api("dave", "GET", *V1, "roots")
    assert status == 200 and [r["name"] for r in roots] == ["archive"]
    _, roots = await api("bob", "GET", *V1, "roots")
    assert {r["name"] for r in roots} == {"archive", "restricted", "drop"}
    assert all("url" not in r for r in roots)
    _, methods = await api("dave", "GET", *V1, "methods")
    assert methods["methods"] == ["copy", "symlink", "download"]
    status, ls = await api("bob", "GET", *V1, "roots", "archive", "ls", params={"path": "night1"})
    assert status == 200
    names = {e["name"]: e for e in ls["entries"]}
    assert names["calib"]["type"] == "directory" and names["frame000.fits"]["size"] > 5000
    assert (await api("dave", "GET", *V1, "roots", "restricted", "ls"))[0] == 404
    assert (await api("bob", "GET", *V1, "roots", "nope", "ls"))[0] == 404
    assert (await api("bob", "GET", *V1, "roots", "archive", "ls",
                      params={"path": "../"}))[0] == 400


async def test_download_streams_the_bytes(staging, jp_fetch, archive):
    from ..conftest import USERS

    resp = await jp_fetch("astro-ops", "api", *V1, "download",
                          params={"root": "archive", "path": "single.fits"},
                          headers={"Authorization": f"token {USERS['carol'][0]}"})
    data = (archive / "single.fits").read_bytes()
    assert resp.code == 200 and hashlib.sha256(resp.body).digest() == hashlib.sha256(data).digest()
    assert "attachment" in resp.headers["Content-Disposition"]
    assert resp.headers["Content-Type"] == "application/octet-stream"


async def test_users_cannot_see_or_cancel_each_others_jobs(api, archive):
    # no runner: the job stays queued
    status, job = await post_job(api, "bob", "archive", "night1", "x")
    assert status == 202
    assert (await api("carol", "GET", *V1, "jobs", job["id"]))[0] == 404
    assert (await api("carol", "GET", *V1, "jobs", job["id"], "log"))[0] == 404
    assert (await api("carol", "DELETE", *V1, "jobs", job["id"]))[0] == 404
    _, mine = await api("carol", "GET", *V1, "jobs")
    assert mine == []
    assert (await api("carol", "GET", *V1, "jobs", params={"all": "1"}))[0] == 403
    _, every = await api("alice", "GET", *V1, "jobs", params={"all": "1"})
    assert [j["id"] for j in every] == [job["id"]]
    assert (await api(None, "GET", *V1, "jobs"))[0] == 403
    status, cancelled = await api("bob", "DELETE", *V1, "jobs", job["id"])
    assert status == 202 and cancelled["status"] == "cancelled"
    assert (await api("bob", "DELETE", *V1, "jobs", job["id"]))[0] == 409
    _, log = await api("bob", "GET", *V1, "jobs", job["id"], "log")
    assert "cancelled by bob" in log["entries"][-1]["message"]
    status, event = await api("bob", "GET", "v1", "activity", cancelled["event_id"])
    assert status == 200 and event["status"] == "ERROR"
    assert event["object"] == {"type": "STAGING_JOB", "id": job["id"]}


async def test_activity_event_follows_the_job(staging, api, wait_job, archive):
    _, job = await post_job(api, "bob", "archive", "night1", "ev")
    done = await wait_job("bob", job["id"])
    _, event = await api("bob", "GET", "v1", "activity", done["event_id"])
    assert event["status"] == "SUCCESS"
    assert event["data"]["files_done"] == event["data"]["files_total"] == 6


async def test_bad_requests_are_4xx(staging, api):
    assert (await post_job(api, "bob", "nope", "x", "y"))[0] == 404
    assert (await post_job(api, "bob", "archive", "missing", "y"))[0] == 404
    assert (await post_job(api, "bob", "archive", "night1", "y", method="rsync"))[0] == 400
    status, _ = await api("bob", "POST", *V1, "jobs", raw_body=b"{not json")
    assert status == 400
    assert (await api("bob", "GET", *V1, "jobs", "0" * 32))[0] == 404


async def test_failed_file_fails_the_job_with_a_log(staging, api, wait_job, jp_root_dir,
                                                    archive):
    (Path(jp_root_dir) / "blocked").mkdir()
    (Path(jp_root_dir) / "blocked" / "frame000.fits").mkdir()  # a directory where a file goes
    _, job = await post_job(api, "bob", "archive", "night1", "blocked")
    done = await wait_job("bob", job["id"])
    assert done["status"] == "failed" and done["files_failed"] == 1
    _, log = await api("bob", "GET", *V1, "jobs", job["id"], "log")
    assert [f["path"] for f in log["failed_files"]] == ["frame000.fits"]


def test_make_tree_helper(tmp_path):
    files = make_tree(tmp_path)
    assert tree_files(tmp_path / "night1") == files
