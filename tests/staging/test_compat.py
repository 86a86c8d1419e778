"""The SKAO-compatible routes: stage-data (four methods), allowed-methods, create-file."""

from __future__ import annotations

import os
from pathlib import Path

from ..conftest import USERS
from .conftest import tree_files


async def stage(api, user, method, username, src, rel=""):
    return await api(user, "POST", "astro-ops", "stage-data/", params={
        "method": method, "username": username, "jupyter_token": "ignored"},
        body={"data": {"local_path_on_storage": src, "relative_path": rel}})


async def test_local_copy_and_jupyter_copy_are_binary_safe(staging, api, wait_job, jp_root_dir,
                                                           archive):
    for method, rel in (("local_copy", "lc"), ("jupyter_copy", "jc")):
        status, body = await stage(api, "bob", method, "bob", "night1", rel)
        assert status == 202 and body["status"] == "accepted", body
        assert (await wait_job("bob", body["job"]["id"]))["status"] == "succeeded"
        assert tree_files(Path(jp_root_dir) / rel) == tree_files(archive / "night1")


async def test_absolute_path_inside_the_root_is_accepted(staging, api, wait_job, jp_root_dir,
                                                        archive):
    status, body = await stage(api, "bob", "local_copy", "bob",
                               str(archive.resolve() / "single.fits"), "abs.fits")
    assert status == 202, body
    await wait_job("bob", body["job"]["id"])
    assert (Path(jp_root_dir) / "abs.fits").read_bytes() == (archive / "single.fits").read_bytes()


async def test_local_symlink(staging, api, wait_job, jp_root_dir, archive):
    status, body = await stage(api, "bob", "local_symlink", "bob", "night1", "ln")
    assert status == 202
    done = await wait_job("bob", body["job"]["id"])
    assert done["status"] == "succeeded" and done["method"] == "symlink"
    link = Path(jp_root_dir) / "ln"
    assert os.path.islink(link)
    assert os.readlink(link) == os.path.realpath(archive / "night1")


async def test_direct_download(staging, jp_fetch, archive):
    import json

    resp = await jp_fetch("astro-ops", "stage-data/", method="POST",
                          params={"method": "direct_download", "username": "bob"},
                          headers={"Authorization": f"token {USERS['bob'][0]}"},
                          body=json.dumps({"data": {"local_path_on_storage": "single.fits"}}))
    assert resp.body == (archive / "single.fits").read_bytes()
    assert "single.fits" in resp.headers["Content-Disposition"]


async def test_username_must_be_the_caller_unless_admin(staging, api, wait_job):
    assert (await stage(api, "bob", "local_copy", "carol", "night1", "x"))[0] == 403
    status, body = await stage(api, "alice", "local_copy", "carol", "night1", "for-carol")
    assert status == 202 and body["job"]["username"] == "carol"
    assert (await wait_job("carol", body["job"]["id"]))["status"] == "succeeded"


async def test_bad_method_and_missing_source(staging, api):
    status, body = await stage(api, "bob", "rsync", "bob", "night1", "x")
    assert status == 400 and "not allowed" in body["message"]
    assert (await stage(api, "bob", "local_copy", "bob", "missing", "x"))[0] == 404
    status, _ = await api("bob", "POST", "astro-ops", "stage-data/",
                          params={"method": "local_copy", "username": "bob"}, body={})
    assert status == 400


async def test_allowed_methods(staging, api):
    status, body = await api("carol", "GET", "astro-ops", "config", "allowed-methods/")
    assert status == 200
    assert body["allowed_methods"] == ["local_copy", "local_symlink", "direct_download",
                                       "jupyter_copy"]


async def test_create_file_only_into_writable_roots_for_role_holders(staging, api, dropbox,
                                                                     archive):
    body = {"filename": "sub/hello.txt", "content": "hi ✓", "root": "drop"}
    status, out = await api("bob", "POST", "astro-ops", "create-file/", body=body)
    assert status == 201 and out["size"] == len("hi ✓".encode())
    assert (dropbox / "sub" / "hello.txt").read_text() == "hi ✓"
    assert (await api("dave", "POST", "astro-ops", "create-file/", body=body))[0] == 404
    ro = {"filename": "x.txt", "content": "no", "root": "archive"}
    assert (await api("bob", "POST", "astro-ops", "create-file/", body=ro))[0] == 403
    assert not (archive / "x.txt").exists()
    for bad in ("../x.txt", "/tmp/x.txt", "a/../../x"):
        status, _ = await api("bob", "POST", "astro-ops", "create-file/",
                              body={"filename": bad, "content": "", "root": "drop"})
        assert status == 400
