"""Swaps on SQLite and PostgreSQL: accept, decline, withdraw, self-accept refused, approval,
both rows changed in one transaction (or neither, on a clash)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from jupyter_astro_ops.core.errors import Conflict, Forbidden, NotFound, ValidationError
from jupyter_astro_ops.planner.schemas import SwapDecisionIn, SwapIn

from .conftest import MON


def blocks(planner: Any, user: Any, who: str, day: Any = MON) -> list[str]:
    return [b.location for e in planner.list_entries(user, day, day, who) for b in e.blocks]


def decide(parts: Any, user: Any, swap: Any, decision: str) -> Any:
    return parts.swaps.decide(user, swap.id, SwapDecisionIn(decision=decision, message="ok"))


@pytest.fixture
def night(put: Any) -> Any:
    [entry] = put("bob", MON, ("SUNight", "18:00", "06:00"))
    return entry


def test_accept_moves_the_block_and_approves_the_request(parts: Any, planner: Any,
                                                         users: Any, night: Any) -> None:
    swap = parts.swaps.ask(users["bob"], SwapIn(entry_id=night.id, to_user="carol",
                                                message="family dinner"))
    assert (swap.state, swap.status, swap.needs_approval) == ("asked", "PENDING", False)
    assert swap.block.location == "SUNight" and swap.day == MON
    assert [s.id for s in parts.swaps.list_swaps(users["carol"], open_only=True)] == [swap.id]
    with pytest.raises(Forbidden, match="own swap"):
        decide(parts, users["bob"], swap, "accept")
    with pytest.raises(NotFound):  # invisible to bystanders
        parts.swaps.get_swap(users["frank"], swap.id)
    done = decide(parts, users["carol"], swap, "accept")
    assert (done.state, done.status, done.decided_by) == ("approved", "APPROVED", "carol")
    assert blocks(planner, users["bob"], "bob") == []
    assert blocks(planner, users["bob"], "carol") == ["SUNight"]
    moved = planner.list_entries(users["bob"], MON, MON, "carol")[0]
    assert moved.blocks[0].start == night.blocks[0].start and moved.origin == "hand"
    assert planner.get_entry(users["bob"], night.id).deleted
    with pytest.raises(Conflict, match="already approved"):
        decide(parts, users["carol"], swap, "decline")


def test_decline_and_withdraw_change_nothing(parts: Any, planner: Any, users: Any,
                                             night: Any) -> None:
    one = parts.swaps.ask(users["bob"], SwapIn(entry_id=night.id, to_user="carol"))
    with pytest.raises(NotFound):  # a bystander does not even see it
        decide(parts, users["frank"], one, "decline")
    assert decide(parts, users["carol"], one, "decline").status == "DENIED"
    two = parts.swaps.ask(users["bob"], SwapIn(entry_id=night.id, to_user="carol"))
    with pytest.raises(Forbidden):
        decide(parts, users["carol"], two, "withdraw")
    assert decide(parts, users["bob"], two, "withdraw").state == "withdrawn"
    assert blocks(planner, users["bob"], "bob") == ["SUNight"]
    assert blocks(planner, users["bob"], "carol") == []


def test_approval_required(parts: Any, planner: Any, users: Any, night: Any) -> None:
    planner.swaps_need_approval = True
    swap = parts.swaps.ask(users["bob"], SwapIn(entry_id=night.id, to_user="carol"))
    with pytest.raises(Conflict, match="has not accepted"):
        decide(parts, users["dave"], swap, "approve")
    accepted = decide(parts, users["carol"], swap, "accept")
    assert (accepted.state, accepted.status) == ("accepted", "PENDING")
    assert blocks(planner, users["bob"], "bob") == ["SUNight"]  # nothing moved yet
    with pytest.raises(Forbidden):
        decide(parts, users["carol"], swap, "approve")  # not a planner admin
    approved = decide(parts, users["dave"], swap, "approve")
    assert (approved.state, approved.status, approved.decided_by) == (
        "approved", "APPROVED", "dave")
    assert blocks(planner, users["bob"], "carol") == ["SUNight"]


def test_admin_cannot_approve_their_own_request(parts: Any, planner: Any, users: Any,
                                                put: Any) -> None:
    planner.swaps_need_approval = True
    [mine] = put("dave", MON, ("SUNight", "18:00", "06:00"), by="dave")
    swap = parts.swaps.ask(users["dave"], SwapIn(entry_id=mine.id, to_user="carol"))
    decide(parts, users["carol"], swap, "accept")
    with pytest.raises(Forbidden, match="own swap"):
        decide(parts, users["dave"], swap, "approve")
    assert decide(parts, users["alice"], swap, "approve").state == "approved"


def test_clash_on_the_other_row_changes_neither(parts: Any, planner: Any, users: Any,
                                                night: Any, put: Any) -> None:
    put("carol", MON, ("SUNight", "17:30", "06:30"))  # carol is on the summit that night
    swap = parts.swaps.ask(users["bob"], SwapIn(entry_id=night.id, to_user="carol"))
    with pytest.raises(Conflict, match="overlaps"):
        decide(parts, users["carol"], swap, "accept")
    assert blocks(planner, users["bob"], "bob") == ["SUNight"]
    assert blocks(planner, users["bob"], "carol") == ["SUNight"]
    assert parts.swaps.get_swap(users["bob"], swap.id).state == "asked"  # still open


def test_swap_in_return(parts: Any, planner: Any, users: Any, night: Any, put: Any) -> None:
    [hers] = put("carol", MON + timedelta(days=1), ("SUNight", "17:30", "06:30"))
    swap = parts.swaps.ask(users["bob"], SwapIn(entry_id=night.id, to_user="carol",
                                                in_return_entry_id=hers.id))
    decide(parts, users["carol"], swap, "accept")
    assert blocks(planner, users["bob"], "carol") == ["SUNight"]
    assert blocks(planner, users["bob"], "bob", MON + timedelta(days=1)) == ["SUNight"]
    assert blocks(planner, users["bob"], "carol", MON + timedelta(days=1)) == []


def test_asking_rules(parts: Any, users: Any, night: Any, put: Any) -> None:
    [day] = put("bob", MON + timedelta(days=1), ("HQ", "08:00", "17:00"))
    with pytest.raises(ValidationError, match="only duty blocks"):
        parts.swaps.ask(users["bob"], SwapIn(entry_id=day.id, to_user="carol"))
    with pytest.raises(Forbidden):
        parts.swaps.ask(users["carol"], SwapIn(entry_id=night.id, to_user="frank"))
    with pytest.raises(ValidationError):
        parts.swaps.ask(users["bob"], SwapIn(entry_id=night.id, to_user="bob"))
    with pytest.raises(NotFound):
        parts.swaps.ask(users["bob"], SwapIn(entry_id=night.id, to_user="nobody"))
    with pytest.raises(ValidationError, match="no block 3"):
        parts.swaps.ask(users["bob"], SwapIn(entry_id=night.id, position=3, to_user="carol"))
    with pytest.raises(Forbidden):
        parts.swaps.list_swaps(users["bob"], everyone=True)
    assert parts.swaps.list_swaps(users["dave"], everyone=True) == []


def test_changed_block_refuses_the_swap(parts: Any, planner: Any, users: Any,
                                        night: Any) -> None:
    from jupyter_astro_ops.planner.schemas import BlockIn, EntryPatch

    swap = parts.swaps.ask(users["bob"], SwapIn(entry_id=night.id, to_user="carol"))
    planner.modify_entry(users["bob"], night.id, EntryPatch(
        blocks=[BlockIn(location="SUNight", start="19:00", end="06:00")]))
    with pytest.raises(Conflict, match="changed since"):
        decide(parts, users["carol"], swap, "accept")
