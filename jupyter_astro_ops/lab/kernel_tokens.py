"""Kernel tokens: short-lived API tokens of one user, bound to one running kernel.

On a server shared through ``TokenMapIdentityProvider`` a kernel cannot tell who opened it, so
the JupyterLab extension asks for a kernel token as the logged-in user and hands it to the
kernel (``os.environ["ASTRO_OPS_TOKEN"]``); the Python client then acts as that user.

What a kernel token may do is decided in ``jupyter_astro_ops.auth`` with ``in_scope`` (astro-ops
routes plus read-only ``api/me`` and ``api/contents``); this module keeps the tokens:

* only the SHA-256 of each token is stored, in this process's memory (kernels die with the
  server, and so do their tokens), compared with ``hmac.compare_digest``;
* one token per (kernel, user): a new one replaces the old;
* a token stops working when it expires (``ttl_seconds``), when its kernel is shut down (the
  server's ``kernel_actions`` events, see ``start``), or as soon as its kernel is no longer
  listed by the kernel manager (checked on every lookup, so a missed event cannot keep a token
  alive).

Framework-free: no tornado and no jupyter_server imports; the kernel manager and the event bus
are handed in as the small protocols below.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import unquote

from traitlets import Float
from traitlets.config import LoggingConfigurable

from ..core.errors import NotFound
from ..core.timeutil import utcnow

#: every kernel token starts with this, so the identity provider knows which store to ask
TOKEN_PREFIX = "aokt_"  # noqa: S105 (a public prefix, not a secret)
#: jupyter_server's kernel manager emits these (start, interrupt, shutdown, restart)
KERNEL_ACTIONS_SCHEMA = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"
#: kernel ids are UUIDs (jupyter_server makes them with ``uuid.uuid4()``)
KERNEL_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
KERNEL_ID_MAX = 36
#: longest token the store looks at (ours are 48 characters)
TOKEN_MAX = 128

Listener = Callable[[Any, str, dict[str, Any]], Coroutine[Any, Any, None]]


class KernelRegistry(Protocol):
    """What the store needs of the kernel manager: is this kernel running?"""

    def __contains__(self, kernel_id: str) -> bool: ...


class EventBus(Protocol):
    """What the store needs of jupyter_server's event logger (``jupyter_events``)."""

    def add_listener(self, *, schema_id: str | None = None, listener: Listener) -> None: ...

    def remove_listener(self, *, schema_id: str | None = None, listener: Listener) -> None: ...


@dataclass(frozen=True)
class IssuedToken:
    """A new kernel token: the only moment its clear text exists on the server."""

    kernel_id: str
    username: str
    token: str
    expires: datetime

    def __repr__(self) -> str:  # never show the token in logs or tracebacks
        return f"IssuedToken(kernel_id={self.kernel_id!r}, username={self.username!r}, " \
               f"expires={self.expires.isoformat()})"


@dataclass(frozen=True)
class KernelTokenMatch:
    """Who a presented kernel token acts as, and for which kernel."""

    kernel_id: str
    username: str


@dataclass
class _Entry:
    kernel_id: str
    username: str
    digest: bytes
    expires: datetime


def is_kernel_token(presented: str) -> bool:
    """True if ``presented`` has the shape of a kernel token (cheap, no secret compared)."""
    return presented.startswith(TOKEN_PREFIX) and len(presented) <= TOKEN_MAX


def valid_kernel_id(kernel_id: str) -> bool:
    """True for a UUID-shaped kernel id of bounded length."""
    return len(kernel_id) <= KERNEL_ID_MAX and re.match(KERNEL_ID_PATTERN, kernel_id) is not None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def in_scope(base_url: str, method: str, path: str) -> bool:
    """May a kernel token authenticate ``method path`` on a server at ``base_url``?

    Yes for everything under ``<base_url>astro-ops/`` (REST, the live websocket), and for
    ``GET <base_url>api/me`` and ``GET <base_url>api/contents[/...]`` (the client's ``me()``
    and ``files()``). A path with ``.``/``..`` segments (raw or percent-encoded) or
    backslashes is refused outright, so no prefix trick reaches another route.
    """
    base = base_url if base_url.endswith("/") else base_url + "/"
    if not path.startswith(base):
        return False
    rest = path[len(base):]
    decoded = unquote(rest)
    if "\\" in decoded or any(seg in (".", "..") for seg in decoded.split("/")):
        return False
    if rest.startswith("astro-ops/"):
        return True
    if method != "GET":
        return False
    return rest == "api/me" or rest == "api/contents" or rest.startswith("api/contents/")


class KernelTokenStore(LoggingConfigurable):
    """Issues, checks and revokes kernel tokens (in memory; thread-safe)."""

    ttl_seconds = Float(
        12 * 3600.0, min=1.0, config=True,
        help=(
            "Lifetime of a kernel token in seconds (default 12 hours). The JupyterLab "
            "extension asks for a new one whenever the kernel starts or restarts."
        ),
    )

    def __init__(self, kernels: KernelRegistry | None = None, events: EventBus | None = None,
                 clock: Callable[[], datetime] = utcnow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kernels = kernels
        self.events = events
        self.clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()
        self._listening = False

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Revoke a kernel's tokens as soon as the server reports it shut down."""
        if self.events is not None and not self._listening:
            self.events.add_listener(schema_id=KERNEL_ACTIONS_SCHEMA,
                                     listener=self._on_kernel_action)
            self._listening = True

    async def stop(self) -> None:
        """Stop listening and forget every token (the kernels go with the server)."""
        if self.events is not None and self._listening:
            self.events.remove_listener(schema_id=KERNEL_ACTIONS_SCHEMA,
                                        listener=self._on_kernel_action)
            self._listening = False
        with self._lock:
            self._entries.clear()

    async def _on_kernel_action(self, logger: Any, schema_id: str,
                                data: dict[str, Any]) -> None:
        kernel_id = data.get("kernel_id")
        if data.get("action") == "shutdown" and isinstance(kernel_id, str):
            dropped = self.revoke(kernel_id)
            if dropped:
                self.log.info("astro-ops: revoked %d kernel token(s) of shut-down kernel %s",
                              dropped, kernel_id)

    # -- tokens ---------------------------------------------------------------------------
    def issue(self, kernel_id: str, username: str) -> IssuedToken:
        """A new token acting as ``username`` for a running kernel (replaces theirs)."""
        if not self._running(kernel_id):
            raise NotFound(f"no running kernel {kernel_id}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + timedelta(seconds=self.ttl_seconds)
        with self._lock:
            self._purge_expired(now)
            self._entries[(kernel_id, username)] = _Entry(kernel_id, username,
                                                          _digest(token), expires)
        return IssuedToken(kernel_id, username, token, expires)

    def lookup(self, presented: str) -> KernelTokenMatch | None:
        """The user and kernel of a valid token; ``None`` if unknown, expired or orphaned."""
        if not is_kernel_token(presented):
            return None
        digest = _digest(presented)
        now = self.clock()
        found: _Entry | None = None
        with self._lock:
            for entry in self._entries.values():  # compare every entry: no early exit
                if hmac.compare_digest(entry.digest, digest):
                    found = entry
            if found is None:
                return None
            if found.expires <= now or not self._running(found.kernel_id):
                self._entries.pop((found.kernel_id, found.username), None)
                return None
        return KernelTokenMatch(found.kernel_id, found.username)

    def revoke(self, kernel_id: str, username: str | None = None) -> int:
        """Drop the kernel's tokens (only ``username``'s if given); how many were dropped."""
        with self._lock:
            keys = [k for k in self._entries
                    if k[0] == kernel_id and (username is None or k[1] == username)]
            for key in keys:
                del self._entries[key]
        return len(keys)

    def active(self) -> int:
        """How many unexpired tokens are held (for tests and diagnostics)."""
        now = self.clock()
        with self._lock:
            self._purge_expired(now)
            return len(self._entries)

    def _purge_expired(self, now: datetime) -> None:
        for key in [k for k, e in self._entries.items() if e.expires <= now]:
            del self._entries[key]

    def _running(self, kernel_id: str) -> bool:
        return self.kernels is None or kernel_id in self.kernels


__all__ = ["KernelTokenMatch", "KernelTokenStore", "in_scope", "is_kernel_token"]
