"""The guarded status machine."""

from __future__ import annotations

import pytest

from jupyter_astro_ops.activity.states import FINAL, TRANSITIONS, Status, check_transition
from jupyter_astro_ops.core.errors import Conflict


@pytest.mark.parametrize(("src", "dst"), [
    ("NEW", "PENDING"), ("NEW", "WAITING"), ("PENDING", "APPROVED"), ("PENDING", "DENIED"),
    ("APPROVED", "RUNNING"), ("WAITING", "RUNNING"), ("RUNNING", "WAITING"),
    ("RUNNING", "SUCCESS"), ("RUNNING", "ERROR"), ("RUNNING", "WARNING"),
])
def test_legal_edges(src, dst):
    assert check_transition(src, dst) is Status(dst)


@pytest.mark.parametrize(("src", "dst"), [
    ("NEW", "APPROVED"), ("PENDING", "RUNNING"), ("PENDING", "SUCCESS"), ("DENIED", "APPROVED"),
    ("SUCCESS", "RUNNING"), ("ERROR", "WAITING"), ("APPROVED", "DENIED"), ("NEW", "NEW"),
])
def test_illegal_edges_conflict(src, dst):
    with pytest.raises(Conflict):
        check_transition(src, dst)


def test_final_states_have_no_way_out():
    assert {Status.SUCCESS, Status.WARNING, Status.ERROR, Status.DENIED} == FINAL
    for status in FINAL:
        assert not TRANSITIONS[status]


def test_unknown_status_is_refused():
    with pytest.raises(ValueError):
        check_transition("NEW", "DONE")
