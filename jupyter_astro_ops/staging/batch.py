"""Small local files, a batch at a time: the fast path of a job's copy.

A batch is up to a group's worth of small files (``jobs.take_group``), in runs that share a
source and a target directory. Each directory is opened once (``O_DIRECTORY | O_NOFOLLOW``)
and checked to lie inside its root by the path the kernel reports for the open descriptor,
so a directory swapped for a link before the open is caught. Every file is then handled
relative to the two descriptors, with the protocol of ``transfer.Transfer`` and fewer system
calls: ``openat`` of the source (``O_NOFOLLOW | O_NONBLOCK``, a regular file only), one
``pread``, a look at the target name, an unnamed ``O_TMPFILE`` inode, ``write``, a re-read
that must equal what was read, then ``linkat`` into place. Nothing is visible at the target
before the copy is verified, and a killed process leaves nothing behind.

Only the common case is done here. A file that is anything else (a link, grown past
``max_size``, a target name already taken, any error) is answered ``AGAIN`` and the job
copies it through ``Transfer``, with its retries, skip-if-identical and error messages.

The same function runs in a job's thread or in a worker process (``workers.CopyWorkers``):
``python -m jupyter_astro_ops.staging.batch`` serves batches on stdin and stdout.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from typing import BinaryIO, NamedTuple

import xxhash

from .fsops import CLOEXEC, DIR_FLAGS, SOURCE_FLAGS, TMPFILE, link_fd, write_all
from .paths import is_within
from .transfer import tagged

AGAIN = "again"  # the state of a file this fast path left to ``Transfer``

Result = tuple[str, int, str]  # (state, size, checksum), or (AGAIN, 0, why)


class Run(NamedTuple):
    """Files of one source directory going to one target directory (both absolute paths).

    ``fresh``: the target directory held nothing when the job first confined it (it created
    it, or found it empty), so no name is looked up before its copy is written: a name taken
    meanwhile still fails the ``linkat`` (which never replaces) and goes to ``Transfer``. A
    look per file was 8 of the 85 us a 16 KiB file costs here."""

    source: str
    target: str
    names: list[str]
    fresh: bool = False


class Batch(NamedTuple):
    """What a batch copies and how; plain data, so it travels to a worker as a line of JSON
    (``encode``, ``decode_batch``)."""

    source_base: str  # the resolved root of the sources ...
    target_base: str  # ... and of the targets: every directory must lie inside its own
    runs: list[Run]
    max_size: int
    read_only: bool
    fsync: bool


def fd_path(fd: int) -> str | None:
    """The path the kernel holds for an open descriptor (Linux ``/proc``), else ``None``."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def open_dir(path: str, base: str) -> int:
    """Open the directory ``path`` without following a final link, and check that what was
    opened lies inside ``base`` (``PermissionError`` if not)."""
    fd = os.open(path, DIR_FLAGS)
    if not is_within(fd_path(fd) or os.path.realpath(path), base):
        os.close(fd)
        raise PermissionError(f"{path!r} leads outside its root")
    return fd


def copy_batch(batch: Batch, check: Callable[[], None] | None = None) -> list[Result]:
    """One result per name, in order. ``check`` runs before each file (it raises to stop)."""
    out: list[Result] = []
    for run in batch.runs:
        try:
            src_dir = open_dir(run.source, batch.source_base)
        except OSError as exc:
            out.extend((AGAIN, 0, str(exc)) for _ in run.names)
            continue
        try:
            dst_dir = open_dir(run.target, batch.target_base)
        except OSError as exc:
            os.close(src_dir)
            out.extend((AGAIN, 0, str(exc)) for _ in run.names)
            continue
        try:
            for name in run.names:
                if check is not None:
                    check()
                out.append(_copy_one(src_dir, dst_dir, name, batch, run.fresh))
        finally:
            os.close(src_dir)
            os.close(dst_dir)
    return out


def _copy_one(src_dir: int, dst_dir: int, name: str, batch: Batch, fresh: bool) -> Result:
    try:
        data = _read_small(src_dir, name, batch.max_size)
        if data is None:
            return (AGAIN, 0, "not a small regular file")
        if not fresh and _taken(dst_dir, name):  # skip-if-identical, replacing: Transfer's
            return (AGAIN, 0, "the target exists")
        fd = os.open(".", os.O_RDWR | TMPFILE | CLOEXEC, 0o644, dir_fd=dst_dir)
        try:
            write_all(fd, data)
            if os.pread(fd, len(data) + 1, 0) != data:
                return (AGAIN, 0, "the written copy differs from the source")
            if batch.read_only:
                os.fchmod(fd, 0o444)
            if batch.fsync:
                os.fsync(fd)
            link_fd(fd, name, dst_dir)  # an error (a name taken meanwhile) is AGAIN below
        finally:
            os.close(fd)
        return ("done", len(data), tagged(xxhash.xxh3_128_hexdigest(data)))
    except OSError as exc:
        return (AGAIN, 0, str(exc))


def _taken(dst_dir: int, name: str) -> bool:
    """Whether something (a link too) is at ``name`` in the directory ``dst_dir``."""
    try:
        os.stat(name, dir_fd=dst_dir, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _read_small(src_dir: int, name: str, max_size: int) -> bytes | None:
    """The whole content of a regular file of at most ``max_size`` bytes, else ``None``."""
    fd = os.open(name, SOURCE_FLAGS, dir_fd=src_dir)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_size:
            return None
        data = os.pread(fd, st.st_size + 1, 0)
        return data if len(data) == st.st_size else None  # changing under us: Transfer's
    finally:
        os.close(fd)


def encode(message: object) -> bytes:
    """One line of JSON (names that are not valid UTF-8 travel as ``\\udcXX`` escapes)."""
    return json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"


def decode_batch(line: bytes) -> Batch:
    source_base, target_base, runs, max_size, read_only, fsync = json.loads(line)
    return Batch(str(source_base), str(target_base),
                 [Run(str(s), str(t), [str(n) for n in names], bool(fresh))
                  for s, t, names, fresh in runs],
                 int(max_size), bool(read_only), bool(fsync))


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """A worker process's loop: a ``Batch`` in, its results out, a line of JSON each, until
    the end of ``requests``."""
    for line in requests:
        answers.write(encode(copy_batch(decode_batch(line))))
        answers.flush()


def main() -> None:
    """Entry point of a worker process: answers go to a private copy of stdout, and stdout
    itself to stderr, so nothing printed by accident can corrupt the answers."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    if len(sys.argv) > 1 and int(sys.argv[1]) > 0:
        os.nice(int(sys.argv[1]))  # as the server's copy threads (StagingService.worker_nice)
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
