"""Roots, methods, browsing, streamed downloads, and the SKAO-compatible calls.

A mixin of ``StagingService`` (kept apart to keep modules small). Downloads are iterators of
chunks opened lazily in a worker thread, so a file is never held in memory. The compatible
``stage-data`` call maps the original methods onto jobs: ``local_copy`` and ``jupyter_copy``
(now a binary-safe copy) become ``copy``, ``local_symlink`` becomes ``symlink``;
``direct_download`` is a download. ``create-file`` writes only into writable roots.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.errors import Forbidden, ValidationError
from ..core.identity import User
from .paths import clean_relpath, is_within, join_rel, makedirs_confined
from .roots import Root
from .schemas import (
    CompatMethodsOut,
    CompatStageBody,
    CreateFileBody,
    CreateFileOut,
    JobCreate,
    JobOut,
    LsEntry,
    LsOut,
    MethodsOut,
    RootOut,
    SourceRef,
)
from .transfer import CLOEXEC, NOFOLLOW

DOWNLOAD_CHUNK = 1 << 20
MAX_LS = 10_000
COMPAT_TO_JOB = {"local_copy": "copy", "jupyter_copy": "copy", "local_symlink": "symlink"}


@dataclass
class Download:
    """A file to stream: its name, size and an iterator of chunks (blocking reads)."""

    filename: str
    size: int | None
    chunks: Iterator[bytes]


class Browser:
    """Read-side and compatibility calls of the staging service."""

    if TYPE_CHECKING:
        _roots: dict[str, Root]
        compat_root: str
        compat_methods: list[str]

        def root(self, user: User, name: str, method: str | None = None) -> Root: ...
        def create_job(self, user: User, req: JobCreate, owner: str | None = None
                       ) -> JobOut: ...

    def list_roots(self, user: User) -> list[RootOut]:
        """Roots the user may use."""
        return [RootOut(name=r.name, protocol=r.protocol, local=r.local, methods=r.methods,
                        writable=r.config.writable, description=r.config.description)
                for r in self._roots.values() if r.allowed(user)]

    def methods(self, user: User) -> MethodsOut:
        """Methods allowed on at least one of the user's roots."""
        seen = {m for r in self._roots.values() if r.allowed(user) for m in r.methods}
        return MethodsOut(methods=[m for m in ("copy", "symlink", "download") if m in seen],
                          compat_methods=list(self.compat_methods))

    def ls(self, user: User, root_name: str, raw: str) -> LsOut:
        """One directory level of a root (links are shown as what they point to, if inside)."""
        root = self.root(user, root_name)
        rel = clean_relpath(raw, "path")
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
        root = self.root(user, root_name, "download")
        rel = clean_relpath(raw, "path", allow_empty=False)
        info = root.info(rel)
        if info.get("type") != "file":
            raise ValidationError(f"{root.name}:{rel} is not a file")
        full = root.path(rel)
        size = int(info.get("size") or 0)
        return Download(os.path.basename(rel), size, _chunks(root, full))

    # -- compatibility with the SKAO staging service ------------------------------------------
    def compat_allowed_methods(self, user: User) -> CompatMethodsOut:
        return CompatMethodsOut(allowed_methods=list(self.compat_methods))

    def _compat_root(self, user: User, method: str | None = None) -> Root:
        name = self.compat_root or next(iter(self._roots), "")
        if not name:
            raise ValidationError("no storage root is configured")
        return self.root(user, name, method)

    def compat_stage(self, user: User, method: str, username: str,
                     body: CompatStageBody) -> JobOut | Download:
        """``POST stage-data``: a job for copy/symlink methods, a Download for direct_download."""
        if username != user.username and not user.is_admin:
            raise Forbidden("username must be the logged-in user")
        if method not in self.compat_methods:
            raise ValidationError(
                f"Method {method!r} not allowed. Allowed methods: {list(self.compat_methods)}")
        job_method = COMPAT_TO_JOB.get(method, "download")
        root = self._compat_root(user, job_method)
        src = self._compat_source(root, body.data.local_path_on_storage)
        if job_method == "download":
            return self.open_download(user, root.name, src)
        req = JobCreate(source=SourceRef(root=root.name, path=src),
                        target=body.data.relative_path, method=job_method)  # type: ignore[arg-type]
        return self.create_job(user, req, owner=username)

    @staticmethod
    def _compat_source(root: Root, raw: str) -> str:
        """The original accepted absolute paths; only those inside the root are kept."""
        if raw.startswith("/") and root.local:
            if not is_within(os.path.normpath(raw), root.base) or ".." in raw.split("/"):
                raise Forbidden("local_path_on_storage: leads outside the storage root")
            raw = os.path.normpath(raw)[len(root.base):].lstrip("/")
        return clean_relpath(raw, "local_path_on_storage")

    def create_file(self, user: User, body: CreateFileBody) -> CreateFileOut:
        """Write a small text file into a writable root the user may use."""
        root = self._compat_root(user) if body.root is None else self.root(user, body.root)
        if not root.config.writable:
            raise Forbidden(f"the storage root {root.name!r} is read-only")
        rel = clean_relpath(body.filename, "filename", allow_empty=False)
        data = body.content.encode("utf-8")
        if root.local:
            _write_local(root, rel, data)
        else:
            root.fs.pipe(root.path(rel), data)
        return CreateFileOut(root=root.name, path=rel, size=len(data))


def _write_local(root: Root, rel: str, data: bytes) -> None:
    directory = makedirs_confined(root.base, os.path.dirname(rel), "filename")
    name = os.path.basename(rel)
    final = os.path.join(directory, name)
    if os.path.isdir(final) and not os.path.islink(final):
        raise ValidationError("filename: a directory of that name exists")
    tmp = os.path.join(directory, f".{name}.create.astro-part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NOFOLLOW | CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, final)  # replaces a link at ``final`` itself, never its target


def _chunks(root: Root, full: str) -> Iterator[bytes]:
    f: Any = (os.fdopen(os.open(full, os.O_RDONLY | CLOEXEC), "rb", buffering=0)
              if root.local else root.fs.open(full, "rb", block_size=DOWNLOAD_CHUNK))
    with f:
        while True:
            chunk = f.read(DOWNLOAD_CHUNK)
            if not chunk:
                return
            yield chunk
