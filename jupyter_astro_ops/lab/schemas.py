"""Wire models (pydantic) of the routes the JupyterLab extension uses: kernel tokens, the
dashboard list and ``me``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .kernel_tokens import KERNEL_ID_MAX, KERNEL_ID_PATTERN


class KernelTokenIn(BaseModel):
    """``POST kernel-tokens``: a token of the caller for one running kernel."""

    model_config = ConfigDict(extra="forbid")

    kernel_id: str = Field(max_length=KERNEL_ID_MAX, pattern=KERNEL_ID_PATTERN,
                           description="Id of a running kernel (a UUID).")


class KernelIdPath(BaseModel):
    """The ``<kernel_id>`` of ``DELETE kernel-tokens/<kernel_id>``."""

    kernel_id: str = Field(max_length=KERNEL_ID_MAX, pattern=KERNEL_ID_PATTERN)


class KernelTokenOut(BaseModel):
    """A new kernel token; the only answer that ever carries it in clear text."""

    kernel_id: str
    token: str = Field(description=(
        "Acts as the caller on astro-ops routes and read-only api/me, api/contents; "
        "revoked when the kernel shuts down."))
    expires: datetime


class DashboardOut(BaseModel):
    """A Panel dashboard served behind the Jupyter login (one launcher tile)."""

    name: str
    title: str
    description: str
    url: str = Field(description="Absolute path with the base URL: <base_url>astro-ops/dash/<name>")


class MeOut(BaseModel):
    """``GET me``: who you are to astro-ops."""

    username: str
    display_name: str
    groups: list[str]
    roles: list[str]
    is_admin: bool
    decider: bool = Field(description=(
        "You may decide requests: an admin, or the PI of at least one project."))
    kernel_tokens: bool = Field(description=(
        "The server is shared (TokenMapIdentityProvider): notebooks need a kernel token to "
        "act as you. False when the server's own token is already yours."))
    feed_seq: int = Field(description=(
        "The live feed's cursor at the time of this answer: subscribe with `since` set to "
        "it to receive every change made after it, with no gap."))
