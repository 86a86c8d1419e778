"""S3 roots through moto's threaded server on loopback (real HTTP, s3fs)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import USERS
from .conftest import fits_bytes

V1 = ("v1", "staging")
OBJECTS = {f"night/frame{i:03d}.fits": fits_bytes(20_000 + i, i) for i in range(12)}
OBJECTS["night/deep/nested.fits"] = fits_bytes(200_000, 99)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1")
    import s3fs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    fs = s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)
    fs.mkdir("raw-bucket")
    for key, data in OBJECTS.items():
        fs.pipe(f"raw-bucket/{key}", data)
    yield endpoint
    server.stop()


@pytest.fixture
def staging_config(staging_config: dict[str, Any], moto_endpoint: str) -> dict[str, Any]:
    options = {"endpoint_url": moto_endpoint, "key": "testing", "secret": "testing",
               "skip_instance_cache": True}
    staging_config["roots"]["raw-s3"] = {"url": "s3://raw-bucket/night", "options": options,
                                         "methods": ["copy", "symlink", "download"]}
    return staging_config


async def test_stage_a_prefix_from_s3(staging, api, wait_job, jp_root_dir):
    status, job = await api("bob", "POST", *V1, "jobs", body={
        "source": {"root": "raw-s3", "path": ""}, "target": "s3night"})
    assert status == 202, job
    done = await wait_job("bob", job["id"])
    assert done["status"] == "succeeded", done
    assert done["files_total"] == len(OBJECTS)
    for key, data in OBJECTS.items():
        assert (Path(jp_root_dir) / "s3night" / key[len("night/"):]).read_bytes() == data
    _, again = await api("bob", "POST", *V1, "jobs", body={
        "source": {"root": "raw-s3", "path": ""}, "target": "s3night"})
    assert (await wait_job("bob", again["id"]))["files_skipped"] == len(OBJECTS)


async def test_single_object_ls_download_and_no_symlink(staging, api, wait_job, jp_root_dir,
                                                        jp_fetch):
    _, job = await api("bob", "POST", *V1, "jobs", body={
        "source": {"root": "raw-s3", "path": "deep/nested.fits"}, "target": "one/"})
    assert (await wait_job("bob", job["id"]))["status"] == "succeeded"
    data = OBJECTS["night/deep/nested.fits"]
    assert (Path(jp_root_dir) / "one" / "nested.fits").read_bytes() == data
    status, ls = await api("bob", "GET", *V1, "roots", "raw-s3", "ls")
    assert status == 200
    assert {e["name"]: e["type"] for e in ls["entries"]}["deep"] == "directory"
    _, roots = await api("bob", "GET", *V1, "roots")
    assert next(r for r in roots if r["name"] == "raw-s3")["methods"] == ["copy", "download"]
    status, _ = await api("bob", "POST", *V1, "jobs", body={
        "source": {"root": "raw-s3", "path": "deep"}, "target": "l", "method": "symlink"})
    assert status == 403
    resp = await jp_fetch("astro-ops", "api", *V1, "download",
                          params={"root": "raw-s3", "path": "deep/nested.fits"},
                          headers={"Authorization": f"token {USERS['bob'][0]}"})
    assert resp.body == data
