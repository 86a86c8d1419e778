"""Filesystem refusals as the domain's errors: a clear 4xx, never a 500.

The disk says no for reasons a user can act on: a symbolic link in the way (``ELOOP`` from
``O_NOFOLLOW``), a name that exists or is too long, no permission, a full disk. ``fs_errors``
turns those ``OSError`` numbers into ``ValidationError``/``Forbidden``/``NotFound``/``Conflict``
with a message naming what was refused; any other ``OSError`` is left alone (a bug or a broken
disk, logged as such).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from ..core.errors import AstroOpsError, Conflict, Forbidden, NotFound, ValidationError

_REFUSALS: dict[int, tuple[type[AstroOpsError], str]] = {
    errno.ELOOP: (ValidationError, "a symbolic link is in the way"),
    errno.ENAMETOOLONG: (ValidationError, "the name is too long for the file system"),
    errno.ENOTDIR: (ValidationError, "a part of the path is not a directory"),
    errno.EISDIR: (ValidationError, "it is a directory"),
    errno.EEXIST: (Conflict, "it already exists"),
    errno.ENOTEMPTY: (Conflict, "the directory is not empty"),
    errno.ENOSPC: (Conflict, "no space is left on the file system"),
    errno.EDQUOT: (Conflict, "the disk quota is exhausted"),
    errno.EACCES: (Forbidden, "the file system denied access"),
    errno.EPERM: (Forbidden, "the file system denied the operation"),
    errno.EROFS: (Forbidden, "the file system is read-only"),
    errno.ENOENT: (NotFound, "it does not exist"),
}


def refusal(exc: OSError, what: str) -> AstroOpsError | None:
    """The domain error for a filesystem refusal of ``what``, or ``None`` for other errors."""
    known = _REFUSALS.get(exc.errno or 0)
    if known is None:
        return None
    cls, why = known
    return cls(f"{what}: {why}")


@contextmanager
def fs_errors(what: str) -> Iterator[None]:
    """Raise filesystem refusals inside the block as domain errors about ``what``."""
    try:
        yield
    except OSError as exc:
        mapped = refusal(exc, what)
        if mapped is None:
            raise
        raise mapped from exc


__all__ = ["fs_errors", "refusal"]
