"""``KernelTokenStore`` and ``in_scope`` without a server (tier a)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from jupyter_astro_ops.core.errors import NotFound
from jupyter_astro_ops.lab.kernel_tokens import (
    KERNEL_ACTIONS_SCHEMA,
    TOKEN_PREFIX,
    KernelTokenStore,
    in_scope,
    is_kernel_token,
    valid_kernel_id,
)

K1 = "0b7e4a52-6a43-4f0e-9d43-3c1d7a1f7c01"
K2 = "5f9c1e0a-1111-4a2b-8c3d-222233334444"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class Bus:
    """The two methods of jupyter_events' EventLogger the store uses."""

    def __init__(self) -> None:
        self.listeners: dict[str, set[Any]] = {}

    def add_listener(self, *, schema_id: str | None = None, listener: Any) -> None:
        self.listeners.setdefault(schema_id or "", set()).add(listener)

    def remove_listener(self, *, schema_id: str | None = None, listener: Any) -> None:
        self.listeners.get(schema_id or "", set()).discard(listener)

    async def emit(self, data: dict[str, Any]) -> None:
        for listener in list(self.listeners.get(KERNEL_ACTIONS_SCHEMA, ())):
            await listener(self, KERNEL_ACTIONS_SCHEMA, data)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kernels() -> set[str]:
    return {K1, K2}


@pytest.fixture
def store(kernels: set[str], clock: Clock) -> KernelTokenStore:
    return KernelTokenStore(kernels=kernels, clock=clock)


def test_issue_and_lookup(store: KernelTokenStore, clock: Clock) -> None:
    issued = store.issue(K1, "bob")
    assert issued.token.startswith(TOKEN_PREFIX) and len(issued.token) > 40
    assert issued.expires == clock.now + timedelta(hours=12)
    match = store.lookup(issued.token)
    assert match is not None and (match.username, match.kernel_id) == ("bob", K1)
    assert store.lookup(issued.token + "x") is None
    assert store.lookup(TOKEN_PREFIX + "nope") is None
    assert store.lookup("not-a-kernel-token") is None
    assert issued.token not in repr(issued)


def test_only_hashes_are_kept(store: KernelTokenStore) -> None:
    issued = store.issue(K1, "bob")
    assert issued.token not in repr(vars(store))
    assert all(issued.token.encode() not in e.digest for e in store._entries.values())


def test_unknown_kernel_is_not_found(store: KernelTokenStore) -> None:
    with pytest.raises(NotFound):
        store.issue("00000000-0000-4000-8000-000000000000", "bob")


def test_new_token_replaces_the_old_per_kernel_and_user(store: KernelTokenStore) -> None:
    first = store.issue(K1, "bob")
    carol = store.issue(K1, "carol")
    second = store.issue(K1, "bob")
    assert store.lookup(first.token) is None
    assert store.lookup(second.token).username == "bob"  # type: ignore[union-attr]
    assert store.lookup(carol.token).username == "carol"  # type: ignore[union-attr]
    assert store.active() == 2


def test_expiry(store: KernelTokenStore, clock: Clock) -> None:
    store.ttl_seconds = 60
    issued = store.issue(K1, "bob")
    clock.now += timedelta(seconds=59)
    assert store.lookup(issued.token) is not None
    clock.now += timedelta(seconds=1)
    assert store.lookup(issued.token) is None
    assert store.active() == 0


def test_token_dies_with_its_kernel_even_without_an_event(
    store: KernelTokenStore, kernels: set[str]
) -> None:
    issued = store.issue(K2, "bob")
    kernels.discard(K2)
    assert store.lookup(issued.token) is None
    assert store.active() == 0


def test_shutdown_event_revokes(kernels: set[str], clock: Clock) -> None:
    bus = Bus()
    store = KernelTokenStore(kernels=kernels, events=bus, clock=clock)

    async def scenario() -> None:
        await store.start()
        one, two = store.issue(K1, "bob"), store.issue(K2, "bob")
        await bus.emit({"action": "restart", "kernel_id": K1, "status": "success", "msg": ""})
        assert store.lookup(one.token) is not None  # a restart keeps the kernel id
        await bus.emit({"action": "shutdown", "kernel_id": K1, "status": "success", "msg": ""})
        assert store.lookup(one.token) is None
        assert store.lookup(two.token) is not None
        await store.stop()
        assert not bus.listeners[KERNEL_ACTIONS_SCHEMA]
        assert store.active() == 0

    asyncio.run(scenario())


def test_revoke_only_one_user(store: KernelTokenStore) -> None:
    bob, carol = store.issue(K1, "bob"), store.issue(K1, "carol")
    assert store.revoke(K1, "bob") == 1
    assert store.lookup(bob.token) is None and store.lookup(carol.token) is not None


@pytest.mark.parametrize(("kernel_id", "ok"), [
    (K1, True), (K1.upper(), True), ("", False), (K1 + "0", False), ("../" + K1[3:], False),
    ("x" * 10_000, False), (K1.replace("-", ""), False),
])
def test_kernel_id_shape(kernel_id: str, ok: bool) -> None:
    assert valid_kernel_id(kernel_id) is ok


def test_token_shape() -> None:
    assert is_kernel_token(TOKEN_PREFIX + "abc")
    assert not is_kernel_token(TOKEN_PREFIX + "a" * 500)
    assert not is_kernel_token("tok-bob-00000002")


@pytest.mark.parametrize(("method", "path", "ok"), [
    ("GET", "/base/astro-ops/api/v1/staging/jobs", True),
    ("POST", "/base/astro-ops/api/v1/staging/jobs", True),
    ("GET", "/base/astro-ops/api/v1/live", True),
    ("GET", "/base/api/me", True),
    ("GET", "/base/api/contents", True),
    ("GET", "/base/api/contents/data/night1", True),
    ("POST", "/base/api/contents/data", False),
    ("PUT", "/base/api/contents/x.txt", False),
    ("DELETE", "/base/api/contents/x.txt", False),
    ("GET", "/base/api/kernels", False),
    ("GET", "/base/api/terminals", False),
    ("GET", "/base/api/sessions", False),
    ("GET", "/base/api/me/x", False),
    ("GET", "/base/api/contentsX", False),
    ("GET", "/base/lab", False),
    ("GET", "/other/astro-ops/api/v1/me", False),
    ("GET", "/base/astro-ops/../api/kernels", False),
    ("GET", "/base/astro-ops/%2e%2e/api/kernels", False),
    ("GET", "/base/astro-ops/%2E%2E%2Fapi/kernels", False),
    ("GET", "/base/api/contents/..%5c..%5cetc", False),
    ("GET", "/base/astro-opsX/api", False),
])
def test_scope(method: str, path: str, ok: bool) -> None:
    assert in_scope("/base/", method, path) is ok


def test_scope_at_the_root_and_escaped_base() -> None:
    assert in_scope("/", "GET", "/astro-ops/api/v1/me")
    assert in_scope("/a%40b/", "GET", "/a%40b/api/me")
    assert not in_scope("/a%40b/", "GET", "/a@b/api/me")
