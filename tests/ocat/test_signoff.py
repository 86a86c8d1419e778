"""Sign-off rules on SQLite and PostgreSQL: who signs what, ordering, approve, discard, sticky
sign-offs, undo (with an injected clock), withdraw, compare-and-set, concurrent submissions."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from jupyter_astro_ops.activity.models import ActivityEvent
from jupyter_astro_ops.core.errors import Conflict, Forbidden, ValidationError
from jupyter_astro_ops.ocat.models import OcatRevision, OcatSignoff
from jupyter_astro_ops.ocat.schemas import DiscardIn, SignIn, SubmitIn, UndoIn, WithdrawIn

ALL_CHANGES = {"roll_obsr": 120.5, "bep_pack": "VF", "ra": 83.64}  # general, acis, acis_si
SIGNERS = {"general": "arc", "acis": "arc", "acis_si": "acisguy", "hrc_si": "hrcguy",
           "usint_verification": "pocone"}


def status(rev: Any) -> dict[str, str]:
    return {s.column: s.status for s in rev.signoffs}


def sign(svc: Any, who: Any, user: str, rev: Any, column: str, **kw: Any) -> Any:
    return svc.sign(who[user], rev.obsid, rev.rev, SignIn(column=column, **kw))


@pytest.mark.parametrize("column", list(SIGNERS))
@pytest.mark.parametrize("user", ["pocone", "arc", "acisguy", "hrcguy", "root", "nobody"])
def test_role_matrix_for_every_column(submit: Any, svc: Any, who: Any, column: str,
                                      user: str) -> None:
    """Each column is signed by its role only (admins sign anything), whatever the caller."""
    obsid, changes = (1002, {"hrc_si_mode": "HRCTIMING"}) if column == "hrc_si" \
        else (1001, ALL_CHANGES)
    rev = submit("pocone", obsid, changes).revision
    allowed = user == "root" or SIGNERS[column] == user or (
        column in ("general", "acis") and user == "arc")
    if column == "usint_verification" and allowed:  # only once nothing else is pending
        for other, state in status(rev).items():
            if state == "pending" and other != column:
                rev = sign(svc, who, "root", rev, other)
    if allowed:
        assert status(sign(svc, who, user, rev, column))[column] == "signed"
    else:
        with pytest.raises(Forbidden):
            sign(svc, who, user, rev, column)
        assert status(svc.revision(who["root"], rev.obsid, rev.rev))[column] == "pending"


@pytest.mark.parametrize("user,ok", [("pocone", True), ("root", True), ("arc", False),
                                     ("acisguy", False), ("hrcguy", False), ("nobody", False)])
def test_role_matrix_for_discard(submit: Any, svc: Any, who: Any, user: str, ok: bool) -> None:
    rev = submit("pocone", 1001, ALL_CHANGES).revision
    if ok:
        out = svc.discard(who[user], 1001, rev.rev, DiscardIn(reason="wrong target"))
        assert set(status(out).values()) == {"discarded", "not_required"}
        assert out.state == "closed"
    else:
        with pytest.raises(Forbidden):
            svc.discard(who[user], 1001, rev.rev, DiscardIn(reason="no"))


@pytest.mark.parametrize("user,ok", [("pocone", True), ("poctwo", False), ("root", False),
                                     ("arc", False)])
def test_role_matrix_for_withdraw(submit: Any, svc: Any, who: Any, user: str, ok: bool) -> None:
    rev = submit("pocone", 1001, ALL_CHANGES).revision
    if ok:
        assert svc.withdraw(who[user], 1001, rev.rev, WithdrawIn()).state == "withdrawn"
    else:
        with pytest.raises(Forbidden):
            svc.withdraw(who[user], 1001, rev.rev, WithdrawIn())


@pytest.mark.parametrize("user,ok", [("arc", True), ("root", False), ("pocone", False)])
def test_role_matrix_for_undo(submit: Any, svc: Any, who: Any, user: str, ok: bool) -> None:
    rev = sign(svc, who, "arc", submit("pocone", 1001, ALL_CHANGES).revision, "general")
    if ok:
        assert status(svc.undo(who[user], 1001, rev.rev, UndoIn(column="general")))[
            "general"] == "pending"
    else:
        with pytest.raises(Forbidden):
            svc.undo(who[user], 1001, rev.rev, UndoIn(column="general"))


def test_verification_only_when_nothing_else_is_pending(submit: Any, svc: Any,
                                                        who: Any) -> None:
    rev = submit("pocone", 1001, ALL_CHANGES).revision
    for column in ("general", "acis", "acis_si"):
        with pytest.raises(Conflict) as err:
            sign(svc, who, "pocone", rev, "usint_verification")
        assert column in err.value.details["pending"]
        rev = sign(svc, who, SIGNERS[column], rev, column)
    done = sign(svc, who, "pocone", rev, "usint_verification", note="checked")
    assert done.state == "closed" and done.closed_at is not None
    with pytest.raises(Conflict):  # closed: nothing left to sign
        sign(svc, who, "arc", done, "general")


def test_signing_twice_or_an_unknown_column(submit: Any, svc: Any, who: Any) -> None:
    rev = sign(svc, who, "arc", submit("pocone", 1001, ALL_CHANGES).revision, "general")
    with pytest.raises(Conflict):
        sign(svc, who, "arc", rev, "general")
    with pytest.raises(Conflict):  # not required
        sign(svc, who, "hrcguy", rev, "hrc_si")
    with pytest.raises(ValidationError):
        sign(svc, who, "root", rev, "bogus")


def test_sign_off_and_approve(submit: Any, svc: Any, who: Any) -> None:
    rev = submit("pocone", 1001, {"roll_obsr": 120.5}).revision
    rev = sign(svc, who, "arc", rev, "general")
    with pytest.raises(ValidationError):
        sign(svc, who, "arc", rev, "general", approve=True)
    assert not svc.observation(who["pocone"], 1001).approved
    sign(svc, who, "pocone", rev, "usint_verification", approve=True)
    obs = svc.observation(who["pocone"], 1001)
    assert obs.approved and obs.revisions == ["1001.001", "1001.002"]
    asis = svc.revision(who["pocone"], 1001, 2)
    assert asis.kind == "asis" and status(asis)["usint_verification"] == "signed"
    # already approved: the next sign-off and approve adds no asis revision
    rev = submit("pocone", 1001, {"roll_obsr": 121.0}).revision
    sign(svc, who, "arc", rev, "general")
    sign(svc, who, "pocone", rev, "usint_verification", approve=True)
    assert svc.observation(who["pocone"], 1001).revisions[-1] == "1001.003"
    # remove, then the approved state follows history
    submit("pocone", 1001, kind="remove")
    assert not svc.observation(who["pocone"], 1001).approved


def test_discard_turns_every_pending_column(submit: Any, svc: Any, who: Any) -> None:
    rev = sign(svc, who, "arc", submit("pocone", 1001, ALL_CHANGES).revision, "general")
    out = svc.discard(who["pocone"], 1001, rev.rev, DiscardIn(reason="duplicate <request>"))
    assert status(out) == {"general": "signed", "acis": "discarded", "acis_si": "discarded",
                           "hrc_si": "not_required", "usint_verification": "discarded"}
    assert {s.note for s in out.signoffs if s.status == "discarded"} == {"duplicate <request>"}
    with pytest.raises(Conflict):
        svc.discard(who["pocone"], 1001, rev.rev, DiscardIn(reason="again"))


def test_sticky_signoffs_carry_forward(submit: Any, svc: Any, who: Any) -> None:
    first = submit("pocone", 1001, ALL_CHANGES).revision
    first = sign(svc, who, "arc", first, "acis")
    first = sign(svc, who, "acisguy", first, "acis_si")
    # same ACIS values, roll changed again: acis carries, general and acis_si stay as they are
    out = submit("pocone", 1001, {**ALL_CHANGES, "roll_obsr": 130.0})
    second = out.revision
    assert out.superseded == ["1001.001"] and set(out.carried) == {"acis", "acis_si"}
    acis = next(s for s in second.signoffs if s.column == "acis")
    assert (acis.status, acis.signer, acis.note) == ("carried", "arc", "carried from 1001.001")
    assert status(second)["general"] == "pending"
    old = svc.revision(who["root"], 1001, 1)
    assert old.state == "superseded" and old.superseded_by == "1001.002"
    assert status(old)["general"] == "discarded" and status(old)["acis"] == "signed"
    # the ACIS values change: the ACIS columns start pending again
    third = submit("pocone", 1001, {**ALL_CHANGES, "roll_obsr": 130.0, "bep_pack": "F+B"})
    assert third.carried == [] and status(third.revision)["acis"] == "pending"
    board = {row.label: row for row in svc.board(who["arc"])}
    assert board["1001.003"].state == "open" and board["1001.002"].state == "superseded"
    assert any("already signed" in n for n in board["1001.001"].notes)
    assert board["1001.002"].signoffs["acis"]["status"] == "carried"


def test_clone_does_not_supersede(submit: Any, svc: Any, who: Any) -> None:
    submit("pocone", 1001, ALL_CHANGES)
    clone = submit("pocone", 1001, kind="clone", comment="split in two")
    assert clone.superseded == []
    rows = [r for r in svc.board(who["arc"]) if r.obsid == 1001]
    assert all("2 open revisions of 1001" in r.notes for r in rows)


def test_undo_inside_and_outside_the_window(submit: Any, svc: Any, who: Any,
                                            clock: Any) -> None:
    assert svc.undo_hours == 36
    rev = sign(svc, who, "arc", submit("pocone", 1001, ALL_CHANGES).revision, "general")
    clock.advance(hours=35)
    back = svc.undo(who["arc"], 1001, rev.rev, UndoIn(column="general"))
    general = next(s for s in back.signoffs if s.column == "general")
    assert (general.status, general.signer) == ("pending", None)
    assert "undone by arc" in general.note
    rev = sign(svc, who, "arc", back, "general")
    clock.advance(hours=36, minutes=1)
    with pytest.raises(Conflict):
        svc.undo(who["arc"], 1001, rev.rev, UndoIn(column="general"))


def test_undo_reopens_and_respects_verification(submit: Any, svc: Any, who: Any) -> None:
    rev = sign(svc, who, "arc", submit("pocone", 1001, {"roll_obsr": 1.0}).revision, "general")
    done = sign(svc, who, "pocone", rev, "usint_verification")
    assert done.state == "closed"
    with pytest.raises(Conflict):
        svc.undo(who["arc"], 1001, 1, UndoIn(column="general"))
    reopened = svc.undo(who["pocone"], 1001, 1, UndoIn(column="usint_verification"))
    assert reopened.state == "open" and reopened.closed_at is None
    assert svc.undo(who["arc"], 1001, 1, UndoIn(column="general")).state == "open"


def test_withdraw_only_while_nothing_is_signed(submit: Any, svc: Any, who: Any,
                                              db: Any) -> None:
    rev = submit("pocone", 1001, ALL_CHANGES).revision
    signed = sign(svc, who, "arc", rev, "general")
    with pytest.raises(Conflict):
        svc.withdraw(who["pocone"], 1001, 1, WithdrawIn())
    svc.undo(who["arc"], 1001, 1, UndoIn(column="general"))
    out = svc.withdraw(who["pocone"], 1001, 1, WithdrawIn())
    assert out.state == "withdrawn" and signed.version < out.version
    with pytest.raises(Conflict):
        sign(svc, who, "arc", out, "general")
    # an asis approval can be withdrawn by its submitter: the approval goes away
    asis = submit("pocone", 1001, kind="asis").revision
    assert svc.observation(who["pocone"], 1001).approved
    svc.withdraw(who["pocone"], 1001, asis.rev, WithdrawIn())
    assert not svc.observation(who["pocone"], 1001).approved
    with db.read() as session:  # nothing was ever deleted
        assert session.scalar(select(func.count()).select_from(OcatRevision)) == 2
        assert session.scalar(select(func.count()).select_from(OcatSignoff)) == 10


def test_stale_version_is_a_conflict(submit: Any, svc: Any, who: Any) -> None:
    rev = submit("pocone", 1001, ALL_CHANGES).revision
    fresh = sign(svc, who, "arc", rev, "general", version=rev.version)
    with pytest.raises(Conflict):
        sign(svc, who, "arc", rev, "acis", version=rev.version)
    assert status(sign(svc, who, "arc", fresh, "acis", version=fresh.version))["acis"] == "signed"
    with pytest.raises(Conflict):
        svc.discard(who["pocone"], 1001, 1, DiscardIn(reason="x", version=rev.version))


def test_every_change_is_an_activity_event(submit: Any, svc: Any, who: Any, db: Any) -> None:
    rev = submit("pocone", 1001, ALL_CHANGES).revision
    rev = sign(svc, who, "arc", rev, "general")
    svc.undo(who["arc"], 1001, 1, UndoIn(column="general"))
    svc.discard(who["pocone"], 1001, 1, DiscardIn(reason="x"))
    with db.read() as session:
        events = session.scalars(select(ActivityEvent).where(
            ActivityEvent.object_type == "OCAT_REVISION").order_by(ActivityEvent.seq)).all()
        seen = [(e.username, e.action, e.object_id) for e in events]
    assert seen == [("pocone", "ADD", "1001.001"), ("arc", "MOD", "1001.001"),
                    ("arc", "MOD", "1001.001"), ("pocone", "MOD", "1001.001")]


def test_twenty_concurrent_submissions_get_twenty_numbers(loaded: Any, who: Any) -> None:
    n = 20
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = loaded.service.submit(
                who["pocone" if i % 2 else "poctwo"],
                SubmitIn(obsid=1001, changes={"roll_obsr": float(i)}))
        except Exception as exc:  # collected and asserted below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert sorted(r.revision.rev for r in results) == list(range(1, n + 1))
    board = [r for r in loaded.service.board(who["arc"]) if r.obsid == 1001]
    assert [r.state for r in board].count("open") == 1  # each newer one superseded the last


def test_the_board_summary_matches_the_signoff_rows(submit: Any, svc: Any, who: Any,
                                                    clock: Any) -> None:
    """The board reads the copy on the revision row; it must equal the sign-off rows."""
    first = submit("pocone", 1001, ALL_CHANGES).revision
    sign(svc, who, "arc", first, "acis", note="ok <really>")
    submit("pocone", 1001, {**ALL_CHANGES, "roll_obsr": 1.0})  # supersede and carry
    rev = submit("pocone", 1002, {"hrc_si_mode": "HRCTIMING"}).revision
    sign(svc, who, "hrcguy", rev, "hrc_si")
    svc.undo(who["hrcguy"], 1002, 1, UndoIn(column="hrc_si"))
    clone = submit("pocone", 1004, kind="clone").revision
    svc.discard(who["pocone"], 1004, clone.rev, DiscardIn(reason="no"))
    submit("pocone", 1008, kind="asis")
    board = svc.board(who["root"])
    assert len(board) == 5
    for row in board:
        detail = svc.revision(who["root"], row.obsid, row.rev)
        assert row.signoffs == {s.column: {
            "status": s.status, "signer": s.signer, "note": s.note,
            "signed_at": s.signed_at and s.signed_at.isoformat().replace("+00:00", "Z")}
            for s in detail.signoffs}, row.label
        assert row.version == detail.version and row.state == detail.state
