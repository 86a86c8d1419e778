"""Express approval: obsid-list parsing (ranges, separators, cap) and every verdict."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_astro_ops.core.errors import Forbidden, ValidationError
from jupyter_astro_ops.ocat.express import parse_obsids
from jupyter_astro_ops.ocat.schemas import ExpressIn


@pytest.mark.parametrize("text,expected", [
    ("1001", [1001]),
    ("1001-1003", [1001, 1002, 1003]),
    ("1001 - 1003", [1001, 1002, 1003]),
    ("1001,1002;1003:1004 1005\t1006\n1007", list(range(1001, 1008))),
    ("  1003, 1001-1002 ,, 1001  ", [1003, 1001, 1002]),  # order kept, duplicates dropped
    ("5-5", [5]),
])
def test_parse(text: str, expected: list[int]) -> None:
    assert parse_obsids(text, 500) == expected


@pytest.mark.parametrize("text", ["", " ,; ", "abc", "10-5", "0", "1-2-3", "12345678",
                                  "1001,x", "-5"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_obsids(text, 500)


def test_the_cap_is_checked_before_expanding() -> None:
    assert len(parse_obsids("1-500", 500)) == 500
    with pytest.raises(ValidationError):
        parse_obsids("1-501", 500)
    with pytest.raises(ValidationError):
        parse_obsids("1-9999999", 500)  # refused without building a 10-million list
    with pytest.raises(ValidationError):
        parse_obsids("1-300, 1000-1300", 500)


def test_every_verdict_and_the_commit(loaded: Any, submit: Any, who: Any) -> None:
    svc = loaded.service
    submit("pocone", 1009, kind="asis")  # already approved
    spec = ExpressIn(obsids="1001-1010, 4242", dry_run=True)
    dry = svc.express(who["pocone"], spec)
    verdicts = {i.obsid: i.verdict for i in dry.items}
    assert verdicts == {
        1001: "approvable", 1002: "approvable",
        1003: "blocked: no SI mode", 1004: "warning: opened by another POC",
        1005: "blocked: observed or canceled", 1006: "blocked: observed or canceled",
        1007: "blocked: no SI mode", 1008: "approvable", 1009: "already approved",
        1010: "blocked: observed or canceled", 4242: "unknown"}
    assert dry.approved == [] and not svc.observation(who["pocone"], 1001).approved
    done = svc.express(who["pocone"], ExpressIn(obsids="1001-1010, 4242", dry_run=False))
    assert done.approved == ["1001.001", "1002.001", "1004.001", "1008.001"]
    assert done.skipped == {"blocked: no SI mode": [1003, 1007],
                            "blocked: observed or canceled": [1005, 1006, 1010],
                            "already approved": [1009], "unknown": [4242]}
    for obsid in (1001, 1002, 1004, 1008):
        assert svc.observation(who["pocone"], obsid).approved
    again = svc.express(who["pocone"], ExpressIn(obsids="1001", dry_run=False))
    assert again.approved == [] and again.skipped == {"already approved": [1001]}


def test_express_needs_the_poc_role_and_respects_the_cap(loaded: Any, who: Any) -> None:
    with pytest.raises(Forbidden):
        loaded.service.express(who["arc"], ExpressIn(obsids="1001"))
    loaded.service.express_max = 3
    with pytest.raises(ValidationError):
        loaded.service.express(who["pocone"], ExpressIn(obsids="1001-1004"))
