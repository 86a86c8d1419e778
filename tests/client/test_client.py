"""The Python client against a live server: staging end to end, calendar, and the error map."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from jupyter_astro_ops.client import (
    AstroOps,
    AstroOpsError,
    BadRequest,
    ConflictError,
    ConnectionFailed,
    Job,
    JobFailed,
    NotFound,
    PermissionDenied,
)

from .conftest import run

Ops = Callable[[str], AstroOps]


def staged(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file()}


async def test_stage_a_tree_and_wait(ops_for: Ops, night1: dict[str, bytes],
                                     root_dir: Path) -> None:
    ops = ops_for("bob")
    roots = await run(ops.roots)
    assert "archive" in {r.get("name", r.get("root")) for r in roots}
    names = {e.get("name", "").rstrip("/") for e in await run(ops.ls, "archive:night1/")}
    assert {"frame001.fits", "notes.txt", "calib"} <= names

    job = await run(ops.stage, "archive:night1/", "data/night1")
    assert isinstance(job, Job) and job.id
    await run(job.wait, progress=True, timeout=120)
    assert job.ok
    assert staged(root_dir / "data" / "night1") == night1
    assert job.files_done == job.files_total == len(night1)
    assert job.bytes_done == sum(len(v) for v in night1.values())
    assert job.id in {j.id for j in await run(ops.jobs)}
    listed = await run(ops.files, "data/night1")
    assert {f["path"] for f in listed} == {f"data/night1/{rel}" for rel in night1}
    one = await run(ops.files, "data/night1/log #1 (raw).txt")
    assert one == [{"name": "log #1 (raw).txt", "path": "data/night1/log #1 (raw).txt",
                    "type": "file", "size": len(night1["log #1 (raw).txt"])}]
    assert await run(job.log)

    # re-running is cheap and safe: same content, nothing broken
    again = await run(ops.stage, "archive:night1/", "data/night1")
    await run(again.wait, progress=False, timeout=120)
    assert staged(root_dir / "data" / "night1") == night1


async def test_methods_listed(ops_for: Ops) -> None:
    methods = await run(ops_for("bob").methods)
    flat = {m if isinstance(m, str) else m.get("name") for m in methods}
    assert "copy" in flat


async def test_bad_root_and_bad_path_are_client_errors(ops_for: Ops, night1: Any,
                                                        root_dir: Path) -> None:
    ops = ops_for("bob")
    with pytest.raises((BadRequest, NotFound)) as err:
        await run(ops.stage, "no-such-root:night1/", "data/x")
    assert err.value.status in (400, 404) and err.value.message
    with pytest.raises((BadRequest, PermissionDenied)) as err2:
        await run(ops.stage, "archive:night1/", "../outside")
    assert err2.value.message
    assert not (root_dir.parent / "outside").exists()
    with pytest.raises(ValueError, match="root"):
        await run(ops.stage, "night1/", "data/x")


async def test_strangers_cannot_see_or_cancel_a_job(ops_for: Ops, night1: Any) -> None:
    job = await run(ops_for("bob").stage, "archive:night1/", "data/bobs")
    carol = ops_for("carol")
    with pytest.raises((NotFound, PermissionDenied)):
        await run(carol.job, job.id)
    foreign = Job(carol, {"id": job.id})
    with pytest.raises((NotFound, PermissionDenied)):
        await run(foreign.cancel)
    assert job.id not in {j.id for j in await run(carol.jobs)}
    await run(job.wait, progress=False, timeout=120)


async def test_no_credentials_is_permission_denied(live_url: str) -> None:
    anonymous = AstroOps(url=live_url, token="")
    with pytest.raises(PermissionDenied, match="ASTRO_OPS_TOKEN"):
        await run(anonymous.jobs)


async def test_unreachable_server_names_the_url() -> None:
    ops = AstroOps(url="http://127.0.0.1:9/nowhere/", token="x", timeout=5)
    with pytest.raises(ConnectionFailed, match=r"127\.0\.0\.1:9/nowhere/"):
        await run(ops.jobs)


async def test_book_conflict_list_cancel(ops_for: Ops) -> None:
    bob, carol = ops_for("bob"), ops_for("carol")
    sites = await run(bob.sites)
    assert "saf" in {s["code"] for s in sites}
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    end = start + timedelta(hours=2)
    booking = await run(bob.book, "saf", start, end, note="M31 run")
    assert booking["site"] == "saf" and booking["creator_id"] == "bob"

    with pytest.raises(ConflictError) as clash:
        await run(carol.book, "saf", start + timedelta(hours=1), end + timedelta(hours=1))
    assert clash.value.status == 409 and clash.value.message
    assert booking["id"] in str(clash.value.details)

    back_to_back = await run(carol.book, "saf", end, end + timedelta(hours=1))
    listed = await run(bob.reservations, "saf", start - timedelta(days=1),
                       end + timedelta(days=1))
    assert {r["id"] for r in listed} >= {booking["id"], back_to_back["id"]}

    with pytest.raises((PermissionDenied, NotFound)):
        await run(carol.cancel_reservation, booking["id"])
    await run(bob.cancel_reservation, booking["id"])
    listed = await run(bob.reservations, "saf", start, end)
    assert booking["id"] not in {r["id"] for r in listed}


async def test_naive_datetimes_refused_before_sending(ops_for: Ops) -> None:
    with pytest.raises(ValueError, match="time zone"):
        await run(ops_for("bob").book, "saf", datetime(2030, 1, 1), datetime(2030, 1, 2))


async def test_error_carries_server_fields(ops_for: Ops) -> None:
    with pytest.raises(AstroOpsError) as err:
        await run(ops_for("bob").book, "saf", "2030-01-02T00:00Z", "2030-01-01T00:00Z")
    assert err.value.status == 400
    assert isinstance(err.value, BadRequest)
    assert err.value.reason and err.value.message


async def test_cancel_stops_a_running_job(ops_for: Ops, archive: Path, root_dir: Path,
                                          gated_copies: Any) -> None:
    big = archive / "big"
    big.mkdir()
    for i in range(40):
        (big / f"chunk{i:03d}.bin").write_bytes(bytes([i % 256]) * 65_536)
    ops = ops_for("bob")
    job = await run(ops.stage, "archive:big/", "data/big")
    assert await run(gated_copies.started.wait, 60)  # a file is half-way through now
    await run(job.cancel)
    assert job.data["cancel_requested_by"] == "bob"
    with pytest.raises(JobFailed) as failed:
        await run(job.wait, progress=False, timeout=120)
    assert failed.value.job is job
    assert job.status == "cancelled" and failed.value.reason == "cancelled"
    # nothing partial is visible: the file in flight never got its name
    assert not [p for p in (root_dir / "data" / "big").rglob("*")
                if p.is_file() and p.stat().st_size != 65_536]
    assert not list(root_dir.rglob("*.astro-part"))


async def test_download_streams_one_file(ops_for: Ops, night1: dict[str, bytes],
                                         tmp_path: Path) -> None:
    dest = tmp_path / "downloads"
    dest.mkdir()
    path = await run(ops_for("bob").download, "archive:night1/calib/bias.fits", dest)
    assert path == dest / "bias.fits"
    assert path.read_bytes() == night1["calib/bias.fits"]
    assert [p.name for p in dest.iterdir()] == ["bias.fits"]


async def test_failed_job_raises_with_the_servers_reason(ops_for: Ops, archive: Path,
                                                         root_dir: Path) -> None:
    bad = archive / "bad"
    bad.mkdir()
    (bad / "ok.txt").write_bytes(b"ok")
    (bad / "escape.txt").symlink_to("/etc/hostname")  # leads out of the root
    job = await run(ops_for("bob").stage, "archive:bad/", "data/bad")
    with pytest.raises(JobFailed) as failed:
        await run(job.wait, progress=True, timeout=120)
    assert job.status == "failed" and failed.value.job is job
    assert "outside the root" in failed.value.message
    assert failed.value.details["error"] == job.data["error"]
    assert not (root_dir / "data" / "bad" / "escape.txt").exists()


async def test_wait_follows_the_live_feed_instead_of_polling(
        ops_for: Ops, night1: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    ops = ops_for("bob")
    calls = {"get_job": 0, "live_feed": 0}
    real_get, real_live = ops.get_job, ops.live_feed

    def counted_get(job_id: str) -> dict[str, Any]:
        calls["get_job"] += 1
        return real_get(job_id)

    def counted_live() -> Any:
        calls["live_feed"] += 1
        return real_live()

    monkeypatch.setattr(ops, "get_job", counted_get)
    monkeypatch.setattr(ops, "live_feed", counted_live)
    job = await run(ops.stage, "archive:night1/", "data/live")
    await run(job.wait, progress=False, timeout=120)
    assert job.ok and job.files_done == job.files_total == len(night1)
    # one socket, and one REST read: the final state once the event reported the end
    assert calls == {"get_job": 1, "live_feed": 1}


async def test_wait_falls_back_to_polling_without_a_socket(
        ops_for: Ops, night1: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    ops = ops_for("bob")

    def no_socket() -> Any:
        raise ConnectionFailed("websockets are blocked here")

    monkeypatch.setattr(ops, "live_feed", lambda: _Unreachable(no_socket))
    job = await run(ops.stage, "archive:night1/", "data/polled")
    await run(job.wait, progress=False, timeout=120)
    assert job.ok and job.files_done == len(night1)


class _Unreachable:
    """A live feed whose connection fails when used (as behind a proxy without websockets)."""

    def __init__(self, fail: Callable[[], Any]) -> None:
        self.fail = fail

    def __enter__(self) -> _Unreachable:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def events(self, *args: Any, **kwargs: Any) -> Any:
        self.fail()
