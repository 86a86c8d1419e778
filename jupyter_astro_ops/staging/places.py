"""Where the files of one job run come from and go to, confined once per directory.

A source directory is resolved and confined inside its root the first time one of its files is
opened; a target directory is created (one component at a time, refusing links out) and
confined the first time a file goes there, and noted as *fresh* if it held nothing then: the
small-file batches write there without looking each name up first (``batch.Run.fresh``).
After that, each file costs a dictionary look-up. Files themselves open with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import errno
import os
import threading

from .fsops import SOURCE_FLAGS
from .models import StagingJob
from .paths import check_dir_inside, is_empty_dir, join_rel, makedirs_confined
from .roots import Root


class Places:
    """The source and target directories of a job run (shared by its copy threads)."""

    def __init__(self, root: Root, job: StagingJob) -> None:
        self.root = root
        self.source, self.target = job.source, job.target
        self.base = os.path.realpath(job.root_dir)
        self.fresh: set[str] = set()  # target directories empty when first confined
        self._lock = threading.Lock()
        self._src_dirs: dict[str, str] = {}
        self._target_dirs: dict[str, str] = {}  # directory of a relpath -> target directory

    def source_dir(self, src_dir: str) -> str:
        """The resolved path of a source directory, confined once per job (cached)."""
        real_dir = self._src_dirs.get(src_dir)
        if real_dir is None:
            real_dir = self._src_dirs.setdefault(src_dir, self.root.resolved(src_dir))
        return real_dir

    def open_local_source(self, src_rel: str) -> int:
        """Open the source file: its directory is re-confined once per job (cached), and the
        file itself is opened with ``O_NOFOLLOW``; only a link (planning let through links to
        files inside the root) costs a second look, resolved and confined again."""
        src_dir, _, name = src_rel.rpartition("/")
        try:
            return os.open(os.path.join(self.source_dir(src_dir), name), SOURCE_FLAGS)
        except OSError as exc:
            if exc.errno != errno.ELOOP:  # ELOOP: the last component is a symlink
                raise
        return os.open(self.root.resolved(src_rel), SOURCE_FLAGS)

    def dst(self, relpath: str) -> str:
        """The final path of a planned file."""
        return os.path.join(self.base, join_rel(self.target, relpath))

    def target_of(self, relpath: str) -> tuple[str, str]:
        """The target directory of a planned file and its name there. A single-file job's one
        file (``relpath`` empty) is named by the job's target."""
        src_dir, _, name = relpath.rpartition("/")
        if not relpath:
            name = os.path.basename(self.target)
        directory = self._target_dirs.get(src_dir)
        if directory is None:
            rel_dir, _, name = join_rel(self.target, relpath).rpartition("/")
            rel_dir = "" if rel_dir == "." else rel_dir
            with self._lock:
                directory = self._target_dirs.get(src_dir)
                if directory is None:
                    directory = os.path.join(self.base, rel_dir) if rel_dir else self.base
                    makedirs_confined(self.base, rel_dir)
                    check_dir_inside(directory, self.base, "target")
                    if is_empty_dir(directory):
                        self.fresh.add(directory)
                    self._target_dirs[src_dir] = directory
        return directory, name
