"""Path confinement: every user-supplied path is relative, clean, and stays inside its root.

Rules for a user path (source inside a root, or target inside the server's ``root_dir``):

* relative only: no leading ``/``, no ``~`` (fsspec's local paths expand it), no ``C:``;
* no ``..`` or ``.`` segment, no empty segment (``a//b``; one trailing ``/`` is allowed), no
  backslash, no NUL or other control character, segments of at most 255 bytes;
* percent-encoding is *not* decoded for use (``%41`` is a legal file name), but every decoded
  form (decoded up to three times) must pass the same rules, so ``%2e%2e%2f`` and ``%252e``
  are refused instead of becoming a traversal somewhere downstream;
* the path is NFC-normalised; if its NFKC form (where ``\\u2025`` becomes ``..`` and
  ``\\uff0e``/``\\uff0f`` become ``.``/``/``) would traverse or be absolute, it is refused. Other
  non-ASCII names are allowed.

On disk, a resolved path (``os.path.realpath``: every symlink followed) must stay under the
resolved root. Refusals raise ``ValidationError`` (malformed, 400) or ``Forbidden`` (escapes,
403) before anything is written.
"""

from __future__ import annotations

import os
import re
import unicodedata
from urllib.parse import unquote

from ..core.errors import Forbidden, ValidationError

MAX_PATH = 4096
MAX_SEGMENT = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def _check_form(path: str, what: str) -> None:
    if _CONTROL.search(path):
        raise ValidationError(f"{what}: control characters are not allowed")
    if "\\" in path:
        raise ValidationError(f"{what}: backslashes are not allowed")
    if path.startswith(("/", "~")) or _DRIVE.match(path):
        raise ValidationError(f"{what}: must be a relative path")
    body = path[:-1] if path.endswith("/") else path
    if not body:
        return
    for segment in body.split("/"):
        if segment in ("", ".", ".."):
            raise ValidationError(f"{what}: '.', '..' and empty segments are not allowed")
        if len(segment.encode("utf-8")) > MAX_SEGMENT:
            raise ValidationError(f"{what}: a path segment is longer than {MAX_SEGMENT} bytes")


def clean_relpath(raw: str, what: str = "path", *, allow_empty: bool = True) -> str:
    """Validate ``raw`` and return it NFC-normalised without a trailing slash."""
    if not isinstance(raw, str):
        raise ValidationError(f"{what}: must be a string")
    path = unicodedata.normalize("NFC", raw)
    if len(path.encode("utf-8")) > MAX_PATH:
        raise ValidationError(f"{what}: longer than {MAX_PATH} bytes")
    _check_form(path, what)
    decoded = path
    for _ in range(3):
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        _check_form(nxt, f"{what} (percent-decoded)")
        decoded = nxt
    compat = unicodedata.normalize("NFKC", path)
    if compat != path:
        _check_form(compat, f"{what} (unicode compatibility form)")
    path = path.rstrip("/")
    if not path and not allow_empty:
        raise ValidationError(f"{what}: must not be empty")
    return path


def is_within(path: str, base: str) -> bool:
    """Whether ``path`` equals or lies below ``base`` (both absolute, already resolved)."""
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def confine_local(base: str, rel: str, what: str) -> str:
    """``base/rel`` after checking that its fully resolved form stays inside ``base``.

    ``base`` must already be resolved. Components that do not exist yet are fine (they will be
    created as real directories); an existing symlink anywhere along the way that points out of
    ``base`` is refused.
    """
    joined = os.path.join(base, rel) if rel else base
    resolved = os.path.realpath(joined)
    if not is_within(resolved, base):
        raise Forbidden(f"{what}: leads outside its root")
    return joined


def check_dir_inside(directory: str, base: str, what: str) -> None:
    """Re-check an existing directory (it may have been swapped for a link meanwhile)."""
    resolved = os.path.realpath(directory)
    if not is_within(resolved, base):
        raise Forbidden(f"{what}: leads outside its root")


def makedirs_confined(base: str, rel_dir: str, what: str = "target") -> str:
    """Create ``base/rel_dir`` one component at a time, refusing links that leave ``base``."""
    current = base
    for part in [p for p in rel_dir.split("/") if p]:
        current = os.path.join(current, part)
        try:
            os.mkdir(current, 0o755)
        except FileExistsError:
            if not os.path.isdir(current):
                raise Forbidden(f"{what}: {part!r} exists and is not a directory") from None
        check_dir_inside(current, base, what)
    return current


def is_empty_dir(directory: str) -> bool:
    """Whether the directory ``directory`` has no entries (``False`` if it cannot be listed: a
    directory one may write but not read is not known to be empty)."""
    try:
        with os.scandir(directory) as entries:
            return next(entries, None) is None
    except OSError:
        return False


def join_rel(*parts: str) -> str:
    """Join relative path parts with ``/``, ignoring empty parts."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))
