"""The system-call layer both copy paths share: open flags, whole writes, unnamed files.

``transfer.Transfer`` (file by file) and ``batch.copy_batch`` (a directory's small files at a
time) write every copy the same way: into an unnamed ``O_TMPFILE`` inode where the file
system allows it, fully (``write_all``), then given its name with ``linkat`` (``link_fd``),
which never replaces anything. Whether unnamed files work is a property of the file system
and of the process (Linux, file system support, the right to ``linkat`` one), so it is probed
once per file system (``st_dev``), and the answer per directory is remembered for the most
recent directories asked about.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import threading
from typing import Any

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
TMPFILE = getattr(os, "O_TMPFILE", 0)
# how a directory is opened: never through a link (the walk, the small-file batches)
DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | NOFOLLOW | CLOEXEC
# how a source file is opened: never through a link, and a FIFO swapped in does not block
SOURCE_FLAGS = os.O_RDONLY | NOFOLLOW | CLOEXEC | getattr(os, "O_NONBLOCK", 0)
AT_FDCWD, AT_EMPTY_PATH = -100, 0x1000
_LIBC: list[Any] = []
_TMPFILE_DEVICES: dict[int, bool] = {}  # st_dev -> O_TMPFILE + linkat works on that file system


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data`` to ``fd`` (a write may take only part of it)."""
    view = memoryview(data)[os.write(fd, data):]
    while view:
        view = view[os.write(fd, view):]


def libc() -> Any:
    """The C library, for ``linkat`` (Python's ``os.link`` cannot pass ``AT_EMPTY_PATH``)."""
    if not _LIBC:
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


def link_fd(fd: int, path: str, dir_fd: int = AT_FDCWD) -> None:
    """Give the unnamed ``O_TMPFILE`` inode ``fd`` the name ``path`` (relative to the directory
    ``dir_fd`` when given): ``linkat`` with ``AT_EMPTY_PATH``, which fails with
    ``FileExistsError`` rather than replacing anything."""
    if libc().linkat(fd, b"", dir_fd, os.fsencode(path), AT_EMPTY_PATH) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)


def tmpfile_works(directory: str) -> bool:
    """Whether unnamed temporary files can be created and linked in ``directory``."""
    try:
        return _tmpfile_works_in(directory)
    except OSError:  # not there (yet): nothing remembered
        return False


@functools.lru_cache(maxsize=4096)
def _tmpfile_works_in(directory: str) -> bool:
    device = os.stat(directory).st_dev
    known = _TMPFILE_DEVICES.get(device)
    if known is not None:
        return known
    ok = False
    if TMPFILE and sys.platform.startswith("linux"):
        probe = os.path.join(directory, f".astro-probe-{os.getpid()}-{threading.get_ident()}")
        try:
            fd = os.open(directory, os.O_RDWR | TMPFILE | CLOEXEC | NOFOLLOW, 0o600)
            try:
                link_fd(fd, probe)
                os.unlink(probe)
                ok = True
            finally:
                os.close(fd)
        except OSError:
            ok = False
    _TMPFILE_DEVICES[device] = ok
    return ok
