"""With Jupyter's default identity provider the server's token is already the user's: 409."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> Any:
    cfg = dict(jp_server_config)
    cfg["ServerApp"] = {k: v for k, v in cfg["ServerApp"].items()
                        if k != "identity_provider_class"}
    cfg.pop("TokenMapIdentityProvider", None)
    return cfg


async def test_not_needed_without_a_shared_server(call, start_kernel, owner_token, store):
    kid = await start_kernel()
    ans = await call(owner_token, "POST", "astro-ops", "api", "v1", "kernel-tokens",
                     body={"kernel_id": kid})
    assert ans.code == 409
    assert ans.body["message"] == "not needed: the server token is yours"
    assert store.active() == 0
    me = await call(owner_token, "GET", "astro-ops", "api", "v1", "me")
    assert me.code == 200 and me.body["kernel_tokens"] is False


async def test_bad_input_is_still_a_400(call, owner_token):
    ans = await call(owner_token, "POST", "astro-ops", "api", "v1", "kernel-tokens",
                     body={"kernel_id": "nope"})
    assert ans.code == 400
