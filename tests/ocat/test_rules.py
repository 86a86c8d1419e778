"""Initial sign-offs (every case of the catalog's applicability rules), flags and warnings."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_astro_ops.core.errors import Conflict, Forbidden, ValidationError
from jupyter_astro_ops.ocat.catalog import load_catalog

COLS = ("general", "acis", "acis_si", "hrc_si", "usint_verification")


def needs(out: Any) -> tuple[str, ...]:
    return tuple(out.needs[c] for c in COLS)


P, N, S = "pending", "not_required", "signed"


def test_the_catalog_has_every_group_and_enough_parameters() -> None:
    catalog = load_catalog()
    assert len(catalog.parameters) >= 40
    assert {p.group for p in catalog.parameters.values()} == {
        "general", "time", "roll", "acis", "acis_window", "acis_si", "hrc_si"}
    assert catalog.column_names == COLS


@pytest.mark.parametrize("changes,expected", [
    ({"target_name": "New name"}, (P, N, N, N, P)),        # general
    ({"tstart_1": "2030-05-01T00:00:00Z"}, (P, N, N, N, P)),  # time -> general
    ({"roll_obsr": 120.5}, (P, N, N, N, P)),               # roll -> general
    ({"bep_pack": "VF"}, (N, P, P, N, P)),                 # ACIS -> acis + ACIS SI
    ({"start_row": 10}, (N, P, P, N, P)),                  # ACIS window -> acis + ACIS SI
    ({"si_mode": "TE_0002"}, (N, N, P, N, P)),             # ACIS SI only
    ({"ra": 83.64}, (P, N, P, N, P)),                      # RA -> general + ACIS SI
    ({"dec": 22.02}, (P, N, P, N, P)),                     # Dec -> general + ACIS SI
    ({}, (N, N, N, N, P)),                                 # nothing: verification only
], ids=["general", "time", "roll", "acis", "window", "acis_si", "ra", "dec", "nothing"])
def test_initial_signoffs_acis(submit: Any, changes: dict[str, Any],
                               expected: tuple[str, ...]) -> None:
    assert needs(submit("pocone", 1001, changes, dry_run=True)) == expected
    out = submit("pocone", 1001, changes)
    assert tuple(s.status for s in out.revision.signoffs) == expected


@pytest.mark.parametrize("value,expected", [
    ("HRCTIMING", (N, N, N, P, P)),
    (None, (N, N, N, N, P)),        # null == DEFAULT
    ("", (N, N, N, N, P)),          # blank == DEFAULT
    ("default", (N, N, N, N, P)),   # DEFAULT in any case
    (" DEFAULT ", (N, N, N, N, P)),
], ids=["changed", "null", "blank", "default", "padded"])
def test_hrc_si_only_when_the_mode_really_changes(submit: Any, value: Any,
                                                  expected: tuple[str, ...]) -> None:
    assert needs(submit("pocone", 1002, {"hrc_si_mode": value}, dry_run=True)) == expected


def test_hrc_ra_change_needs_no_acis_si(submit: Any) -> None:
    assert needs(submit("pocone", 1002, {"ra": 83.64}, dry_run=True)) == (P, N, N, N, P)


def test_kinds(submit: Any) -> None:
    assert needs(submit("pocone", 1001, kind="clone", dry_run=True)) == (P, N, N, N, P)
    asis = submit("pocone", 1001, kind="asis")
    assert needs(asis) == (N, N, N, N, S)
    assert asis.revision.state == "closed"
    verification = asis.revision.signoffs[-1]
    assert (verification.status, verification.signer) == ("signed", "pocone")
    remove = submit("pocone", 1001, kind="remove")
    assert needs(remove) == (N, N, N, N, S) and remove.revision.label == "1001.002"
    with pytest.raises(ValidationError):
        submit("pocone", 1001, {"ra": 1.0}, kind="asis")


def test_only_pocs_submit_and_only_editable_statuses(submit: Any) -> None:
    with pytest.raises(Forbidden):
        submit("arc", 1001, {"ra": 1.0})
    for obsid in (1005, 1006, 1010):  # observed, canceled, archived
        with pytest.raises(Conflict):
            submit("pocone", obsid, {"roll_obsr": 3.0})
    for obsid in (1008, 1009):  # scheduled, untriggered
        assert submit("pocone", obsid, {"roll_obsr": 3.0}).revision is not None
    with pytest.raises(Conflict):  # no SI mode: cannot be approved
        submit("pocone", 1007, kind="asis")


@pytest.mark.parametrize("changes", [{"nonsense": 1}, {"seq_nbr": "1"}, {"ra": "east"},
                                     {"start_row": 1.5}])
def test_bad_changes_are_refused(submit: Any, changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        submit("pocone", 1001, changes)


def test_flags(submit: Any) -> None:
    out = submit("pocone", 1001, {"target_name": "Renamed", "instrument": "ACIS-I",
                                  "ra": 83.9}, comment="please move it")
    assert set(out.flags) == {"target_name", "instrument", "large_shift", "comment"}
    out = submit("pocone", 1001, {"ra": 83.64}, comment="please move it")
    assert out.flags == []  # same comment again, shift 0.4 arcmin
    out = submit("pocone", 1008, {"roll_obsr": 5.0})
    assert set(out.flags) == {"near_date", "or_list"}


def rules_of(out: Any) -> set[str]:
    return {w.rule for w in out.warnings}


@pytest.mark.parametrize("changes,rule", [
    ({"roll_obsr": 400.0}, "range"),
    ({"ra": 361.0}, "range"),
    ({"dec": -91.0}, "range"),
    ({"bep_pack": "XX"}, "allowed"),
    ({"spwindow_flag": "Y"}, "companions"),
    ({"subarray": "CUSTOM", "subarray_start_row": 10}, "companions"),
    ({"frame_time": 3.2}, "exclusive"),                       # both set
    ({"most_efficient": "N"}, "exclusive"),                   # neither set
    ({"tstart_2": "2030-06-02T00:00:00Z", "tstop_2": "2030-06-01T00:00:00Z"}, "ordered"),
    ({"ra": 84.0}, "shift"),
    ({"grating": "HETG"}, "cdo"),
], ids=["roll", "ra", "dec", "allowed", "window", "subarray", "both", "neither", "order",
        "shift", "cdo"])
def test_each_warning_rule(submit: Any, changes: dict[str, Any], rule: str) -> None:
    dry = submit("pocone", 1001, changes, dry_run=True)
    assert rule in rules_of(dry), dry.warnings
    out = submit("pocone", 1001, changes)  # a warning never blocks the submission
    assert rule in rules_of(out) and out.revision.warnings == out.warnings


def test_hrc_needs_an_si_mode(submit: Any) -> None:
    assert "required" in rules_of(submit("pocone", 1003, {"roll_obsr": 1.0}, dry_run=True))
    assert "required" not in rules_of(submit("pocone", 1002, {"roll_obsr": 1.0},
                                             dry_run=True))


def test_no_warnings_for_a_clean_change(submit: Any) -> None:
    assert submit("pocone", 1001, {"roll_obsr": 120.5}, dry_run=True).warnings == []


def test_dry_run_writes_nothing(submit: Any, svc: Any, who: Any) -> None:
    out = submit("pocone", 1001, {"roll_obsr": 120.5}, dry_run=True)
    assert out.dry_run and out.revision is None
    assert svc.revisions_of(who["pocone"], 1001) == []
    assert svc.observation(who["pocone"], 1001).revisions == []
