"""Who is acting, and which roles they hold.

``User`` is the framework-free identity every service takes as its first argument. It is built
from Jupyter's ``current_user`` (REST), from the login forwarded to a dashboard, or from the
configured local user (CLI) by ``RoleMap.resolve``; services never read a user name from a
request body.

Role map entries are user names, or ``group:<name>`` for every member of an identity-provider
group: ``{"admin": ["alice", "group:ops-leads"], "calendar_admin": ["bob"]}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import Forbidden

ADMIN = "admin"
GROUP_PREFIX = "group:"


@dataclass(frozen=True)
class User:
    """An authenticated person with resolved roles. ``admin`` implies every role."""

    username: str
    display_name: str = ""
    groups: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def label(self) -> str:
        """A human name for titles and logs."""
        return self.display_name or self.username

    def has_role(self, role: str) -> bool:
        """True if the user holds ``role`` directly or is an admin."""
        return role in self.roles or self.is_admin

    def require_role(self, role: str, action: str = "do this") -> None:
        """Raise ``Forbidden`` unless the user holds ``role``."""
        if not self.has_role(role):
            raise Forbidden(f"{self.username} needs the '{role}' role to {action}")

    def require_self_or_admin(self, username: str, action: str = "act for another user") -> None:
        """Raise ``Forbidden`` unless ``username`` is this user or this user is an admin."""
        if username != self.username and not self.is_admin:
            raise Forbidden(f"{self.username} may not {action} ({username})")


class RoleMap:
    """Resolves roles from the ``roles`` configuration (role name -> members)."""

    def __init__(self, roles: Mapping[str, Iterable[str]] | None = None) -> None:
        self._users: dict[str, set[str]] = {}
        self._groups: dict[str, set[str]] = {}
        for role, members in (roles or {}).items():
            for member in members:
                if member.startswith(GROUP_PREFIX):
                    self._groups.setdefault(member[len(GROUP_PREFIX) :], set()).add(role)
                else:
                    self._users.setdefault(member, set()).add(role)

    def roles_for(self, username: str, groups: Iterable[str] = ()) -> frozenset[str]:
        """Every role held by ``username`` directly or through one of ``groups``."""
        found = set(self._users.get(username, ()))
        for group in groups:
            found |= self._groups.get(group, set())
        return frozenset(found)

    def resolve(self, username: str, display_name: str = "", groups: Iterable[str] = ()) -> User:
        """Build the acting ``User`` with its roles."""
        group_set = frozenset(groups)
        return User(
            username=username,
            display_name=display_name or username,
            groups=group_set,
            roles=self.roles_for(username, group_set),
        )

    def members(self, role: str) -> set[str]:
        """User names listed directly under ``role`` (groups cannot be expanded here)."""
        return {name for name, roles in self._users.items() if role in roles}
