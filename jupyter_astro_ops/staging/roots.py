"""Storage roots: validated configuration and one fsspec filesystem per root.

``c.StagingService.roots = {"archive": {"url": "file:///data/archive"}, "raw-s3": {"url":
"s3://raw-bucket/night", "options": {"endpoint_url": "..."}, "methods": ["copy", "download"],
"roles": ["stager"]}}``. Local roots (protocol ``file``/``local``) are resolved once with
``realpath`` so that confinement compares resolved paths; symlinks are only possible on them.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from typing import Any, Literal

from fsspec.core import url_to_fs
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..core.errors import Forbidden, NotFound, ValidationError
from ..core.identity import User
from .paths import confine_local, is_within

Method = Literal["copy", "symlink", "download"]
ALL_METHODS: tuple[str, ...] = ("copy", "symlink", "download")
_DEFAULT_METHODS: tuple[Method, ...] = ("copy", "symlink", "download")
ROOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RootConfig(BaseModel):
    """One configured root, as written in ``c.StagingService.roots``."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)
    methods: list[Method] = Field(default_factory=lambda: list(_DEFAULT_METHODS))
    writable: bool = False
    roles: list[str] = Field(default_factory=list)
    description: str = ""

    @field_validator("methods")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


@dataclass
class Root:
    """A usable root: its config, filesystem and base path (resolved when local)."""

    name: str
    config: RootConfig
    fs: Any
    base: str
    local: bool

    @property
    def protocol(self) -> str:
        proto = self.fs.protocol
        return proto if isinstance(proto, str) else proto[0]

    @property
    def methods(self) -> list[str]:
        """Methods allowed on this root (symlinks only make sense on local roots)."""
        return [m for m in self.config.methods if m != "symlink" or self.local]

    def allowed(self, user: User) -> bool:
        return not self.config.roles or any(user.has_role(r) for r in self.config.roles)

    def require(self, user: User, method: str | None = None) -> None:
        if not self.allowed(user):
            raise Forbidden(f"you may not use the storage root {self.name!r}")
        if method is not None and method not in self.methods:
            raise Forbidden(f"method {method!r} is not allowed on the storage root {self.name!r}")

    def path(self, rel: str) -> str:
        """The fsspec path of ``rel`` (confined against symlinks when local)."""
        if self.local:
            return confine_local(self.base, rel, "source")
        return f"{self.base}/{rel}" if rel else self.base

    def resolved(self, rel: str) -> str:
        """The fully resolved local path of ``rel``; ``Forbidden`` if it leaves the root."""
        real = os.path.realpath(os.path.join(self.base, rel) if rel else self.base)
        if not is_within(real, self.base):
            raise Forbidden(f"source: {rel!r} leads outside its root")
        return real

    def rel_of(self, full: str) -> str:
        """Inverse of ``path`` for names returned by ``find``/``ls``."""
        full = full.rstrip("/")
        base = self.base.rstrip("/")
        if full == base:
            return ""
        if not full.startswith(base + "/"):
            raise Forbidden("a listed entry lies outside its root")
        return full[len(base) + 1:]

    def info(self, rel: str) -> dict[str, Any]:
        """``fs.info`` of a confined path (NotFound if missing); local symlinks checked."""
        full = self.path(rel)
        if self.local:
            try:
                st = os.stat(full)
            except (FileNotFoundError, NotADirectoryError):
                raise NotFound(f"{self.name}:{rel} does not exist") from None
            kind = "directory" if stat.S_ISDIR(st.st_mode) else (
                "file" if stat.S_ISREG(st.st_mode) else "other")
            return {"name": full, "type": kind, "size": st.st_size, "mtime": st.st_mtime}
        try:
            return dict(self.fs.info(full))
        except FileNotFoundError:
            raise NotFound(f"{self.name}:{rel} does not exist") from None

    def resolved_inside(self, full: str) -> bool:
        return not self.local or is_within(os.path.realpath(full), self.base)


class Roots:
    """The configured roots and who may use which (unknown and forbidden look alike: 404)."""

    def __init__(self, roots: dict[str, Root], compat_root: str = "") -> None:
        self._roots = roots
        self.compat_root = compat_root

    def named(self, name: str) -> Root | None:
        """A root by name, no access check (the runner resuming a job already checked)."""
        return self._roots.get(name)

    def usable(self, user: User) -> list[Root]:
        """Roots ``user`` may use."""
        return [r for r in self._roots.values() if r.allowed(user)]

    def get(self, user: User, name: str, method: str | None = None) -> Root:
        """A root ``user`` may use (with ``method``, if given)."""
        root = self._roots.get(name)
        if root is None or not root.allowed(user):
            raise NotFound(f"no storage root {name!r}")
        root.require(user, method)
        return root

    def compat(self, user: User, method: str | None = None) -> Root:
        """The root of the SKAO-compatible routes (default: the first configured)."""
        name = self.compat_root or next(iter(self._roots), "")
        if not name:
            raise ValidationError("no storage root is configured")
        return self.get(user, name, method)


def build_root(name: str, raw: Any) -> Root:
    """Validate one config entry and open its filesystem."""
    if not ROOT_NAME.match(name):
        raise ValidationError(f"invalid storage root name {name!r}")
    config = RootConfig.model_validate(raw if not isinstance(raw, str) else {"url": raw})
    fs, path = url_to_fs(config.url, **config.options)
    protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
    local = any(p in ("file", "local") for p in protocols)
    if local:
        base = os.path.realpath(path)
        if not os.path.isdir(base):
            raise ValidationError(f"storage root {name!r}: {base} is not a directory")
    else:
        base = path.rstrip("/")
    return Root(name=name, config=config, fs=fs, base=base, local=local)


def build_roots(raw: dict[str, Any]) -> dict[str, Root]:
    """All roots; a broken entry is an error at start-up, not at first use."""
    return {name: build_root(name, value) for name, value in raw.items()}


__all__ = ["ALL_METHODS", "Root", "RootConfig", "Roots", "build_root", "build_roots"]
