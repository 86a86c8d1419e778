"""The read side of staging: roots, methods, browsing, streamed downloads, ``create-file``.

``Browser`` is handed the configured ``Roots`` (and the SKAO-compatible method list) by the
composition root; the job side is ``service.StagingService``. Downloads are iterators of
chunks opened lazily in a worker thread, so a file is never held in memory. ``create-file``
writes only into writable roots. ``list_roots``, ``methods`` and ``compat_allowed_methods``
read configuration only (no I/O), so handlers answer them on the event loop: a thread
hand-off is what made them slow while a copy kept both CPUs busy.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..core.errors import Forbidden, ValidationError
from ..core.identity import User
from .fserrors import fs_errors
from .fsops import CLOEXEC
from .paths import clean_relpath, is_within, join_rel, makedirs_confined
from .roots import Root, Roots
from .schemas import (
    CompatMethodsOut,
    CreateFileBody,
    CreateFileOut,
    LsEntry,
    LsOut,
    MethodsOut,
    RootOut,
)
from .transfer import Transfer

DOWNLOAD_CHUNK = 1 << 20
MAX_LS = 10_000


@dataclass
class Download:
    """A file to stream: its name, size and an iterator of chunks (blocking reads)."""

    filename: str
    size: int | None
    chunks: Iterator[bytes]


class Browser:
    """Browse the roots a user may use; download from them; write into writable ones."""

    def __init__(self, roots: Roots, compat_methods: list[str]) -> None:
        self.roots = roots
        self.compat_methods = list(compat_methods)

    def list_roots(self, user: User) -> list[RootOut]:
        """Roots the user may use."""
        return [RootOut(name=r.name, protocol=r.protocol, local=r.local, methods=r.methods,
                        writable=r.config.writable, description=r.config.description)
                for r in self.roots.usable(user)]

    def methods(self, user: User) -> MethodsOut:
        """Methods allowed on at least one of the user's roots."""
        seen = {m for r in self.roots.usable(user) for m in r.methods}
        return MethodsOut(methods=[m for m in ("copy", "symlink", "download") if m in seen],
                          compat_methods=list(self.compat_methods))

    def ls(self, user: User, root_name: str, raw: str) -> LsOut:
        """One directory level of a root (links are shown as what they point to, if inside)."""
        root = self.roots.get(user, root_name)
        rel = clean_relpath(raw, "path")
        with fs_errors(f"{root.name}:{rel}"):
            if root.info(rel).get("type") != "directory":
                raise ValidationError(f"{root.name}:{rel} is not a directory")
            entries = self._ls_local(root, rel) if root.local else self._ls_remote(root, rel)
        return LsOut(root=root.name, path=rel, entries=sorted(entries, key=lambda e: e.name))

    def _ls_local(self, root: Root, rel: str) -> list[LsEntry]:
        out: list[LsEntry] = []
        with os.scandir(root.path(rel)) as it:
            for entry in it:
                if len(out) >= MAX_LS:
                    break
                kind, size = "other", None
                real = os.path.realpath(entry.path)
                if is_within(real, root.base):
                    with contextlib.suppress(OSError):
                        st = os.stat(real)
                        if stat.S_ISDIR(st.st_mode):
                            kind = "directory"
                        elif stat.S_ISREG(st.st_mode):
                            kind, size = "file", st.st_size
                out.append(LsEntry(name=entry.name, path=join_rel(rel, entry.name),
                                   type=kind, size=size))  # type: ignore[arg-type]
        return out

    def _ls_remote(self, root: Root, rel: str) -> list[LsEntry]:
        out: list[LsEntry] = []
        for info in root.fs.ls(root.path(rel), detail=True)[:MAX_LS]:
            child = root.rel_of(info["name"])
            kind = info.get("type")
            out.append(LsEntry(
                name=child.rsplit("/", 1)[-1], path=child,
                type=kind if kind in ("file", "directory") else "other",
                size=int(info.get("size") or 0) if kind == "file" else None))
        return out

    def open_download(self, user: User, root_name: str, raw: str) -> Download:
        """A streamed download of one file (the method ``download`` must be allowed)."""
        return open_download(self.roots.get(user, root_name, "download"), raw)

    def compat_allowed_methods(self, user: User) -> CompatMethodsOut:
        """``GET config/allowed-methods/`` of the SKAO-compatible API."""
        return CompatMethodsOut(allowed_methods=list(self.compat_methods))

    def create_file(self, user: User, body: CreateFileBody) -> CreateFileOut:
        """Write a small text file into a writable root the user may use."""
        root = (self.roots.compat(user) if body.root is None
                else self.roots.get(user, body.root))
        if not root.config.writable:
            raise Forbidden(f"the storage root {root.name!r} is read-only")
        rel = clean_relpath(body.filename, "filename", allow_empty=False)
        data = body.content.encode("utf-8")
        with fs_errors(f"filename {rel!r}"):
            if root.local:
                _write_local(root, rel, data)
            else:
                root.fs.pipe(root.path(rel), data)
        return CreateFileOut(root=root.name, path=rel, size=len(data))


def open_download(root: Root, raw: str) -> Download:
    """A streamed download of the file ``raw`` in ``root`` (access already checked)."""
    rel = clean_relpath(raw, "path", allow_empty=False)
    with fs_errors(f"{root.name}:{rel}"):
        info = root.info(rel)
        if info.get("type") != "file":
            raise ValidationError(f"{root.name}:{rel} is not a file")
        size = int(info.get("size") or 0)
        return Download(os.path.basename(rel), size, _chunks(_open(root, root.path(rel))))


def _write_local(root: Root, rel: str, data: bytes) -> None:
    """Write ``data`` atomically and verified (the staging transfer protocol: an unnamed or
    uniquely named temporary file, checksum re-read, then into place; a link at the final name
    is replaced, never followed)."""
    directory = makedirs_confined(root.base, os.path.dirname(rel), "filename")
    name = os.path.basename(rel)
    final = os.path.join(directory, name)
    if os.path.isdir(final) and not os.path.islink(final):
        raise ValidationError("filename: a directory of that name exists")
    writer = Transfer(chunk_size=DOWNLOAD_CHUNK, fsync=False, read_only=False,
                      tag=f"create-{uuid.uuid4().hex[:12]}", check=_no_cancel,
                      on_bytes=_no_progress)
    writer.copy_stream(lambda: io.BytesIO(data), directory, name, len(data))


def _no_cancel() -> None:
    """A create-file write cannot be cancelled."""


def _no_progress(_n: int) -> None:
    """A create-file write reports no progress."""


def _open(root: Root, full: str) -> Any:
    """The file, opened now (so a refusal is the request's error, not the stream's)."""
    if root.local:
        return os.fdopen(os.open(full, os.O_RDONLY | CLOEXEC), "rb", buffering=0)
    return root.fs.open(full, "rb", block_size=DOWNLOAD_CHUNK)


def _chunks(f: Any) -> Iterator[bytes]:
    with f:
        while True:
            chunk = f.read(DOWNLOAD_CHUNK)
            if not chunk:
                return
            yield chunk
