"""Which staging jobs a runner may run: those of its own working directory, or every user's.

A job records the working directory of the server that queued it (``root_dir``): its targets
lie inside that directory and nowhere else. A runner serves a *scope*:

* ``OwnDirectory``: a Jupyter server running its own jobs (the single-server default);
* ``UserHomes``: the JupyterHub worker service (``jupyter astro-ops worker``), which runs the
  jobs of every user whose server works in ``home_template`` (``/home/{username}``): a job is
  taken only when its ``root_dir`` is exactly that user's directory, so a job can never make
  the worker write into another user's home. The dashboards' Hub service queues jobs in the
  same scope: each user's into that user's home.
"""

from __future__ import annotations

import os
from typing import Protocol

from sqlalchemy.sql.elements import ColumnElement

from .models import StagingJob


class Scope(Protocol):
    """The jobs a runner serves."""

    @property
    def root_dir(self) -> str:
        """The working directory of this process ("" when it serves every user's home)."""
        ...

    def directory_for(self, username: str) -> str:
        """The working directory a new job of ``username`` targets ("" when there is none)."""
        ...

    def where(self) -> ColumnElement[bool] | None:
        """A SQL condition that narrows the candidates (``None``: look at every job)."""
        ...

    def serves(self, job: StagingJob) -> bool:
        """Whether this runner may run ``job``."""
        ...


class OwnDirectory:
    """The jobs queued by this server for its own working directory."""

    def __init__(self, root_dir: str) -> None:
        self._root_dir = os.path.realpath(root_dir)

    @property
    def root_dir(self) -> str:
        return self._root_dir

    def directory_for(self, username: str) -> str:
        return self._root_dir  # the server's one working directory, whoever is logged in

    def where(self) -> ColumnElement[bool] | None:
        return StagingJob.root_dir == self._root_dir

    def serves(self, job: StagingJob) -> bool:
        return job.root_dir == self._root_dir


class UserHomes:
    """The jobs of every user whose server works in ``template.format(username=...)``."""

    def __init__(self, template: str) -> None:
        if "{username}" not in template:
            raise ValueError("the home template must contain {username}, e.g. /home/{username}")
        self.template = template

    @property
    def root_dir(self) -> str:
        return ""

    def home(self, username: str) -> str:
        return os.path.realpath(self.template.format(username=username))

    def directory_for(self, username: str) -> str:
        return self.home(username)

    def where(self) -> ColumnElement[bool] | None:
        prefix = self.template.split("{username}", 1)[0]
        return StagingJob.root_dir.startswith(prefix) if prefix else None

    def serves(self, job: StagingJob) -> bool:
        return job.root_dir == self.home(job.username)


__all__ = ["OwnDirectory", "Scope", "UserHomes"]
