"""The small-file fast path (``staging.batch``) and its worker processes (``staging.workers``).

A batch copies the common case exactly and verified, and answers ``AGAIN`` for everything
else without touching the target: a link, a FIFO (without blocking), a file grown past the
limit, a name already taken, a directory outside its root. Worker processes give the same
answers as the thread; a worker that dies is replaced and its batch handed back.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import xxhash
from sqlalchemy import select

from jupyter_astro_ops.staging.batch import AGAIN, Batch, Run, copy_batch, open_dir
from jupyter_astro_ops.staging.jobs import GROUP_FILES, JobRun
from jupyter_astro_ops.staging.models import StagingFile
from jupyter_astro_ops.staging.schemas import JobCreate
from jupyter_astro_ops.staging.transfer import Cancelled, hash_local, tagged
from jupyter_astro_ops.staging.workers import CopyWorkers, _Worker

from ..conftest import make_services


def tree(tmp_path: Path, n: int = 5) -> tuple[Path, Path, list[str]]:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    names = [f"f{i:03d}.dat" for i in range(n)]
    for i, name in enumerate(names):
        (src / name).write_bytes(os.urandom(i * 1000))
    return src, dst, names


def batch_of(src: Path, dst: Path, names: list[str], base: Path | None = None,
             max_size: int = 1 << 20, read_only: bool = False) -> Batch:
    return Batch(str(base or src), str(base or dst), [Run(str(src), str(dst), names)],
                 max_size, read_only, False)


def test_a_batch_copies_exactly_and_leaves_nothing_else(tmp_path: Path) -> None:
    src, dst, names = tree(tmp_path)
    results = copy_batch(batch_of(src, dst, names, read_only=True))
    assert [r[0] for r in results] == ["done"] * len(names)
    for name, (_, size, checksum) in zip(names, results, strict=True):
        assert (dst / name).read_bytes() == (src / name).read_bytes()
        assert hash_local(str(dst / name), 1 << 20) == (size, checksum)
        assert (dst / name).stat().st_mode & 0o777 == 0o444
    assert sorted(os.listdir(dst)) == names  # no temporary file anywhere


def test_everything_but_the_common_case_is_left_to_transfer(tmp_path: Path) -> None:
    src, dst, names = tree(tmp_path, 2)
    (src / "link.dat").symlink_to(src / names[1])
    os.mkfifo(src / "fifo")  # opening it must not block
    (src / "big.dat").write_bytes(b"x" * 5000)
    (src / "taken.dat").write_bytes(b"new")
    (dst / "taken.dat").write_bytes(b"old")
    asked = [names[1], "link.dat", "fifo", "big.dat", "taken.dat", "missing.dat"]
    results = copy_batch(batch_of(src, dst, asked, max_size=4096))
    assert [r[0] for r in results] == ["done"] + [AGAIN] * 5
    assert sorted(os.listdir(dst)) == [names[1], "taken.dat"]
    assert (dst / "taken.dat").read_bytes() == b"old"


def test_a_fresh_directory_skips_the_look_and_still_replaces_nothing(tmp_path: Path) -> None:
    """A run into a directory that was empty (``fresh``) looks up no name first; a name
    taken meanwhile, by a file or a dangling link, still fails the link: AGAIN, untouched."""
    src, dst, names = tree(tmp_path, 3)
    (dst / names[1]).write_bytes(b"theirs")
    (dst / names[2]).symlink_to(tmp_path / "nowhere")
    fresh = Batch(str(src), str(dst), [Run(str(src), str(dst), names, True)], 1 << 20,
                  False, False)
    workers = CopyWorkers(processes=1)
    try:
        for copy in (copy_batch, workers.copy):  # the flag travels to a worker too
            results = copy(fresh)
            assert results is not None
            assert [r[0] for r in results] == ["done", AGAIN, AGAIN]
            assert (dst / names[1]).read_bytes() == b"theirs"
            assert os.readlink(dst / names[2]) == str(tmp_path / "nowhere")
            assert sorted(os.listdir(dst)) == names  # no temporary file left either
            (dst / names[0]).unlink()
    finally:
        workers.stop()


def test_a_directory_outside_its_root_is_never_written(tmp_path: Path) -> None:
    src, dst, names = tree(tmp_path, 2)
    outside = tmp_path / "outside"
    outside.mkdir()
    (dst / "escape").symlink_to(outside)  # the last component is a link: O_NOFOLLOW
    (dst / "real").mkdir()
    (outside / "inner").mkdir()
    (dst / "hop").symlink_to(outside)  # a link along the way: the descriptor's path shows it
    for target in (dst / "escape", dst / "hop" / "inner"):
        results = copy_batch(Batch(str(src), str(dst), [Run(str(src), str(target), names)],
                                   1 << 20, False, False))
        assert {r[0] for r in results} == {AGAIN}
    assert list(outside.rglob("*.dat")) == []
    with pytest.raises(PermissionError):
        open_dir(str(dst / "hop" / "inner"), str(dst))


def test_a_cancel_between_files_stops_the_batch(tmp_path: Path) -> None:
    src, dst, names = tree(tmp_path)
    calls: list[int] = []

    def check() -> None:
        calls.append(1)
        if len(calls) > 2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        copy_batch(batch_of(src, dst, names), check)
    assert sorted(os.listdir(dst)) == names[:2]


def test_worker_processes_copy_like_the_thread(tmp_path: Path) -> None:
    src, dst, names = tree(tmp_path)
    odd = os.fsdecode(b"\xff-not-utf8.dat")  # travels through JSON and back unchanged
    (src / odd).write_bytes(b"odd")
    workers = CopyWorkers(processes=1)
    try:
        results = workers.copy(batch_of(src, dst, [*names, odd]))
        assert results is not None and [r[0] for r in results] == ["done"] * (len(names) + 1)
        assert (dst / odd).read_bytes() == b"odd"
        for name, (_, size, checksum) in zip([*names, odd], results, strict=True):
            assert hash_local(str(dst / name), 1 << 20) == (size, checksum)
        worker = workers._workers[0]
        assert worker.proc.pid != os.getpid() and worker.proc.poll() is None
    finally:
        workers.stop()
    assert worker.proc.poll() == 0  # ended by the end of its input


def test_a_dead_worker_is_replaced_and_its_batch_handed_back(tmp_path: Path) -> None:
    src, dst, names = tree(tmp_path)
    workers = CopyWorkers(processes=1)
    try:
        assert workers.copy(batch_of(src, dst, names[:1])) is not None
        first = workers._workers[0]
        first.proc.kill()
        first.proc.wait()
        assert workers.copy(batch_of(src, dst, names[1:2])) is None  # the caller copies it
        again = workers.copy(batch_of(src, dst, names[2:3]))
        assert again is not None and again[0][0] == "done"
        assert workers._workers[0] is not first
    finally:
        workers.stop()


def test_a_worker_that_dies_holding_two_batches_hands_both_back(tmp_path: Path) -> None:
    """Both batches on their way to a worker that dies are answered ``None`` (the askers copy
    them), none waits forever, and the next batch goes to a new worker."""
    src, dst, names = tree(tmp_path, 6)
    workers = CopyWorkers(processes=1)
    first = workers.copy(batch_of(src, dst, names[:1]))
    assert first is not None
    dead = workers._workers[0]
    # both have been handed the worker before it is killed, and neither asks before
    gate = threading.Barrier(2, action=lambda: (dead.proc.kill(), dead.proc.wait()))
    real_ask = _Worker.ask

    def ask_after_kill(self: _Worker, batch: Batch) -> Any:
        gate.wait(10)
        return real_ask(self, batch)

    got: list[object] = []
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_Worker, "ask", ask_after_kill)
            threads = [threading.Thread(target=lambda part=part: got.append(
                workers.copy(batch_of(src, dst, part)))) for part in (names[1:3], names[3:5])]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
        assert got == [None, None]
        again = workers.copy(batch_of(src, dst, names[5:]))
        assert again is not None and again[0][0] == "done"
        assert workers._workers and workers._workers[0] is not dead
    finally:
        workers.stop()


def test_a_worker_that_cannot_start_leaves_the_running_one_in_use(tmp_path: Path) -> None:
    """With room for two workers, a second that cannot start does not turn batches away
    while the first still has room in its pipe."""
    src, dst, names = tree(tmp_path, 4)
    workers = CopyWorkers(processes=2)
    real_init = _Worker.__init__
    starts: list[int] = []

    def second_fails(self: _Worker, nice: int) -> None:
        starts.append(1)
        if len(starts) > 1:
            raise OSError(24, "Too many open files")
        real_init(self, nice)

    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_Worker, "__init__", second_fails)
            first = workers._take()  # starts the first worker, which now holds a batch
            assert first is not None and first.load == 1
            again = workers._take()  # a second cannot start: the first takes this one too
            assert again is first and first.load == 2 and len(starts) == 2
            assert workers._take() is None  # and the third must wait: its pipe is full
        for worker in (first, first):
            workers._give_back(worker)
        results = workers.copy(batch_of(src, dst, names))
        assert results is not None and [r[0] for r in results] == ["done"] * 4
    finally:
        workers.stop()


def test_workers_are_shared_and_bounded(tmp_path: Path) -> None:
    """Three threads asking at once with one worker: it takes two batches (the second waits
    in its pipe) and answers each asker its own; the third is refused (it copies itself)."""
    src, dst, names = tree(tmp_path, 60)
    workers = CopyWorkers(processes=1)
    got: dict[int, object] = {}
    gate = threading.Barrier(3)
    hold = threading.Event()
    real_ask = _Worker.ask

    def slow_ask(self: _Worker, batch: Batch) -> Any:
        hold.wait(10)  # no batch is answered before all three have asked
        return real_ask(self, batch)

    def ask(i: int) -> None:
        gate.wait()
        got[i] = workers.copy(batch_of(src, dst, names[i::3]))
        hold.set()  # the refused one lets the others go on

    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_Worker, "ask", slow_ask)
            threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert len(workers._workers) == 1
    finally:
        workers.stop()
    assert len(got) == 3
    for i, results in got.items():
        if results is None:
            continue
        assert isinstance(results, list) and [r[0] for r in results] == ["done"] * 20
        for name, (_, size, checksum) in zip(names[i::3], results, strict=True):
            assert hash_local(str(dst / name), 1 << 20) == (size, checksum)
    assert sum(r is None for r in got.values()) == 1
    assert CopyWorkers(processes=0).wanted(10_000) is False
    assert CopyWorkers(processes=2, min_files=200).wanted(199) is False
    assert CopyWorkers(processes=2, min_files=200).wanted(200) is True


# -- jobs ---------------------------------------------------------------------------------------
def _many(tmp_path: Path, n: int) -> tuple[Path, Path, dict[str, bytes]]:
    root, home = tmp_path / "root", tmp_path / "home"
    home.mkdir()
    files = {f"many/d{i % 3}/f{i:04d}.fits": os.urandom(100 + i) for i in range(n)}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root, home, files


def _services(db: Any, root: Path, home: Path) -> Any:
    return make_services(db, {
        "StagingService": {"roots": {"root": {"url": root.as_uri()}}, "progress_interval": 0.05},
        "CopyWorkers": {"processes": 2, "min_files": 100}}, str(home))


async def _wait(svc: Any, user: Any, job_id: str) -> Any:
    for _ in range(1200):
        job = await asyncio.to_thread(svc.get_job, user, job_id)
        if job.status in ("succeeded", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError("the job did not end")


def _job(path: str) -> JobCreate:
    return JobCreate.model_validate({"source": {"root": "root", "path": path}, "target": "copy"})


async def test_a_job_of_many_small_files_is_copied_by_the_workers(db, users, tmp_path,
                                                                  monkeypatch) -> None:
    root, home, files = _many(tmp_path, 300)
    answered: list[int] = []
    real = CopyWorkers.copy

    def counting(self: CopyWorkers, batch: Batch) -> Any:
        results = real(self, batch)
        answered.append(0 if results is None else len(results))
        return results

    monkeypatch.setattr(CopyWorkers, "copy", counting)
    services = _services(db, root, home)
    await services.staging.runner.start()
    try:
        job = await asyncio.to_thread(services.staging.service.create_job, users["bob"],
                                      _job("many"))
        done = await _wait(services.staging.service, users["bob"], job.id)
        copier = services.staging.runner.copier
        procs = [w.proc for w in copier._workers]
    finally:
        await services.staging.runner.stop()
    assert done.status == "succeeded" and done.files_copied == 300
    assert sum(answered) > 0 and procs  # the workers copied (some of) it ...
    assert all(p.poll() is not None for p in procs) and copier._workers == []  # ... and stopped
    copied = {str(p.relative_to(home / "copy")): p.read_bytes()
              for p in (home / "copy").rglob("*") if p.is_file()}
    assert copied == {rel.removeprefix("many/"): data for rel, data in files.items()}
    with db.read() as session:
        rows = session.execute(select(StagingFile.relpath, StagingFile.state,
                                      StagingFile.checksum).where(StagingFile.job_id == job.id))
        stored = {rel: (state, checksum) for rel, state, checksum in rows}
    assert stored == {rel.removeprefix("many/"): ("done", tagged(xxhash.xxh3_128_hexdigest(data)))
                      for rel, data in files.items()}


async def test_cancelling_a_job_in_the_workers_leaves_only_whole_files(db, users, tmp_path,
                                                                       monkeypatch) -> None:
    root, home, files = _many(tmp_path, 5 * GROUP_FILES)  # two groups in flight, three not
    started = threading.Event()
    real = JobRun._batch

    def gated(self: JobRun, group: list[Any]) -> Any:
        out = real(self, group)  # this batch is copied; then wait for the cancel
        started.set()
        for _ in range(3000):
            self.flags.check()
            time.sleep(0.01)
        return out

    monkeypatch.setattr(JobRun, "_batch", gated)
    services = _services(db, root, home)
    await services.staging.runner.start()
    try:
        svc = services.staging.service
        job = await asyncio.to_thread(svc.create_job, users["bob"], _job("many"))
        assert await asyncio.to_thread(started.wait, 60)
        await asyncio.to_thread(svc.cancel_job, users["bob"], job.id)
        done = await _wait(svc, users["bob"], job.id)
    finally:
        await services.staging.runner.stop()
    assert done.status == "cancelled"
    landed = [p for p in (home / "copy").rglob("*") if p.is_file()]
    assert 0 < len(landed) < len(files)
    for path in landed:  # each file there is whole, and nothing temporary is left
        assert path.read_bytes() == files["many/" + str(path.relative_to(home / "copy"))]
