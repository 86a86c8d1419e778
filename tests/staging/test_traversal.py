"""A corpus of escape attempts through the REST API: each is refused, nothing is written.

Targets are relative to the server's working directory; sources to the ``archive`` root. The
filesystem is compared before and after: the working directory, the archive, and the
``secret``/``outside`` directories next to them must be unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import tree_files

V1 = ("v1", "staging")

BAD_TARGETS = [
    "/tmp/evil", "/etc/evil", "../evil", "a/../../evil", "..", "a/..", "./evil", "a//b",
    "%2e%2e/evil", "%2E%2E%2Fevil", "..%2fevil", "%252e%252e%252fevil", "a\\..\\evil",
    "..\\evil", "evil\x00.txt", "evil\nname", "\u2025/evil", "\uff0e\uff0e/evil",
    "a\uff0f..\uff0f..\uff0fevil", "~/evil", "~root/evil", "C:/evil",
    "link_out/evil", "link_out", "inner/link_out2/evil",
]
BAD_SOURCES = [
    "/etc/passwd", "../secret/passwd", "night1/../../secret/passwd", "%2e%2e/secret/passwd",
    "..%2fsecret%2fpasswd", "escape_link", "escape_link/passwd", "night1/escape_file",
    "\u2025/secret/passwd", "\uff0e\uff0e/secret",
]


@pytest.fixture
def escape_setup(tmp_path: Path, jp_root_dir: Path, archive: Path) -> list[Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_bytes(b"keep")
    os.symlink(outside, Path(jp_root_dir) / "link_out")
    (Path(jp_root_dir) / "inner").mkdir()
    os.symlink(outside, Path(jp_root_dir) / "inner" / "link_out2")
    os.symlink(tmp_path / "secret", archive / "escape_link")
    os.symlink(tmp_path / "secret" / "passwd", archive / "night1" / "escape_file")
    return [Path(jp_root_dir), archive, tmp_path / "secret", outside]


def snapshot(dirs: list[Path]) -> dict[str, object]:
    state: dict[str, object] = {}
    for top in dirs:
        for dirpath, dirnames, names in os.walk(top):
            for name in dirnames + names:
                p = Path(dirpath) / name
                st = p.lstat()
                state[str(p)] = (st.st_mode, st.st_size, os.readlink(p) if p.is_symlink()
                                 else (p.read_bytes() if p.is_file() else None))
    return state


async def test_escape_corpus_is_refused(staging, api, escape_setup):
    before = snapshot(escape_setup)
    results = []
    for target in BAD_TARGETS:
        for source in ("night1", "single.fits"):
            results.append(("target", target, source, await api("bob", "POST", *V1, "jobs", body={
                "source": {"root": "archive", "path": source}, "target": target})))
    for source in BAD_SOURCES:
        for method in ("copy", "symlink"):
            results.append(("source", source, method, await api("bob", "POST", *V1, "jobs", body={
                "source": {"root": "archive", "path": source}, "target": "ok", "method": method})))
    for source in BAD_SOURCES:
        results.append(("download", source, "", await api(
            "bob", "GET", *V1, "download", params={"root": "archive", "path": source})))
        results.append(("ls", source, "", await api(
            "bob", "GET", *V1, "roots", "archive", "ls", params={"path": source})))
    accepted = [r for r in results if r[3][0] not in (400, 403)]
    assert not accepted, accepted
    assert len(BAD_TARGETS) + len(BAD_SOURCES) >= 30
    assert snapshot(escape_setup) == before


async def test_a_link_out_inside_a_tree_fails_the_job_before_writing(staging, api, wait_job,
                                                                       escape_setup, jp_root_dir):
    before = snapshot(escape_setup)
    status, job = await api("bob", "POST", *V1, "jobs", body={
        "source": {"root": "archive", "path": "night1"}, "target": "tree"})
    assert status == 202
    done = await wait_job("bob", job["id"])
    assert done["status"] == "failed" and "outside the root" in done["error"]
    assert not (Path(jp_root_dir) / "tree").exists()
    assert snapshot(escape_setup) == before


async def test_links_inside_the_root_are_followed_as_files(staging, api, wait_job, archive,
                                                           jp_root_dir):
    os.symlink(archive / "single.fits", archive / "night1" / "alias.fits")
    _, job = await api("bob", "POST", *V1, "jobs", body={
        "source": {"root": "archive", "path": "night1"}, "target": "t"})
    assert (await wait_job("bob", job["id"]))["status"] == "succeeded"
    copied = Path(jp_root_dir) / "t" / "alias.fits"
    assert not copied.is_symlink()
    assert copied.read_bytes() == (archive / "single.fits").read_bytes()
    assert tree_files(Path(jp_root_dir) / "t").keys() == tree_files(archive / "night1").keys()


async def test_existing_target_link_out_is_refused(staging, api, escape_setup, jp_root_dir,
                                                  tmp_path):
    os.symlink(tmp_path / "outside" / "keep.txt", Path(jp_root_dir) / "single.fits")
    status, _ = await api("bob", "POST", *V1, "jobs", body={
        "source": {"root": "archive", "path": "single.fits"}, "target": "single.fits"})
    assert status == 403
    assert (tmp_path / "outside" / "keep.txt").read_bytes() == b"keep"


async def test_compat_escapes_are_refused(staging, api, escape_setup):
    before = snapshot(escape_setup)
    cases = [("obs", "local_copy", "/etc/passwd", "x"), ("bob", "local_copy", "../secret", "x"),
             ("bob", "local_copy", "night1", "../../evil"), ("bob", "local_symlink", "escape_link",
             "x"), ("bob", "direct_download", "escape_link/passwd", ""),
             ("bob", "jupyter_copy", "night1", "/tmp/evil")]
    for username, method, src, rel in cases:
        status, body = await api("bob", "POST", "astro-ops", "stage-data/", params={
            "method": method, "username": username},
            body={"data": {"local_path_on_storage": src, "relative_path": rel}})
        assert status in (400, 403), (username, method, src, rel, body)
    assert snapshot(escape_setup) == before
