"""Fixtures for the lab routes: real kernels started through the server, calls with any token."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse


@dataclass
class Answer:
    code: int
    body: Any
    cookies: list[str]


async def _fetch(jp_fetch: Any, token: str, method: str, *path: str,
                 body: Any = None, **kwargs: Any) -> Answer:
    headers = {"Authorization": f"token {token}"}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["body"] = body if isinstance(body, str | bytes) else json.dumps(body or {})
    elif method == "DELETE":
        kwargs["allow_nonstandard_methods"] = True
    resp: HTTPResponse | None
    try:
        resp = await jp_fetch(*path, method=method, headers=headers, **kwargs)
    except HTTPClientError as err:
        resp = err.response
        if resp is None:
            raise
    raw = resp.body or b""
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return Answer(resp.code, parsed, resp.headers.get_list("Set-Cookie"))


@pytest.fixture
def call(jp_fetch: Any) -> Callable[..., Awaitable[Answer]]:
    """``await call(token, "GET", "api", "me")``: any route, any token, never raises on 4xx."""

    async def run(token: str, method: str, *path: str, **kwargs: Any) -> Answer:
        return await _fetch(jp_fetch, token, method, *path, **kwargs)

    return run


@pytest.fixture
def owner_token(jp_serverapp: Any) -> str:
    return str(jp_serverapp.identity_provider.token)


@pytest.fixture
def start_kernel(call: Any, owner_token: str, jp_serverapp: Any,
                 jp_asyncio_loop: Any) -> Iterator[Callable[[], Awaitable[str]]]:
    """``kid = await start_kernel()``: a real python3 kernel, shut down after the test."""

    async def start() -> str:
        ans = await call(owner_token, "POST", "api", "kernels", body={"name": "python3"})
        assert ans.code == 201, ans.body
        return str(ans.body["id"])

    yield start
    km = jp_serverapp.kernel_manager
    jp_asyncio_loop.run_until_complete(km.shutdown_all(now=True))


@pytest.fixture
def store(jp_serverapp: Any, jp_asyncio_loop: Any) -> Iterator[Any]:
    """The server's one ``KernelTokenStore``, started as the server starts it.

    pytest-jupyter never runs the server's post-start hook, so start it here: that registers
    the kernel-shutdown listener on the server's event bus.
    """
    ext = jp_serverapp.extension_manager.extension_apps["jupyter_astro_ops"]
    tokens = next(iter(ext)).services.kernel_tokens
    jp_asyncio_loop.run_until_complete(tokens.start())
    yield tokens
    jp_asyncio_loop.run_until_complete(tokens.stop())
