"""core.identity: the role map resolves users and groups; admin implies every role."""

from __future__ import annotations

import pytest

from jupyter_astro_ops.core.errors import Forbidden
from jupyter_astro_ops.core.identity import RoleMap, User

ROLES = {
    "admin": ["root", "group:ops-leads"],
    "stager": ["bob", "group:arcops"],
    "calendar_admin": ["dave"],
}


def test_user_roles_come_from_names_and_groups():
    rm = RoleMap(ROLES)
    assert rm.roles_for("bob") == {"stager"}
    assert rm.roles_for("erin", ["arcops"]) == {"stager"}
    assert rm.roles_for("erin", ["ops-leads", "arcops"]) == {"admin", "stager"}
    assert rm.roles_for("dave", ["unknown"]) == {"calendar_admin"}
    assert rm.roles_for("nobody") == frozenset()


def test_a_group_name_does_not_match_a_user_of_that_name():
    rm = RoleMap(ROLES)
    assert rm.roles_for("ops-leads") == frozenset()
    assert rm.roles_for("arcops") == frozenset()


def test_resolve_builds_a_frozen_user():
    user = RoleMap(ROLES).resolve("erin", "Erin E.", ["arcops"])
    assert user == User("erin", "Erin E.", frozenset({"arcops"}), frozenset({"stager"}))
    assert user.label == "Erin E."
    with pytest.raises(AttributeError):
        user.username = "mallory"  # type: ignore[misc]
    assert RoleMap().resolve("x").display_name == "x"


def test_admin_implies_every_role():
    admin = RoleMap(ROLES).resolve("anyone", groups=["ops-leads"])
    assert admin.is_admin
    assert admin.has_role("stager") and admin.has_role("calendar_admin")
    assert admin.has_role("a_role_nobody_configured")
    admin.require_role("calendar_admin")
    admin.require_self_or_admin("bob")


def test_missing_role_and_other_user_are_forbidden():
    bob = RoleMap(ROLES).resolve("bob")
    assert not bob.is_admin
    assert bob.has_role("stager") and not bob.has_role("calendar_admin")
    bob.require_role("stager")
    bob.require_self_or_admin("bob")
    with pytest.raises(Forbidden, match="calendar_admin"):
        bob.require_role("calendar_admin", "book for others")
    with pytest.raises(Forbidden):
        bob.require_self_or_admin("carol")


def test_members_lists_direct_user_names_only():
    assert RoleMap(ROLES).members("admin") == {"root"}
    assert RoleMap(ROLES).members("stager") == {"bob"}
