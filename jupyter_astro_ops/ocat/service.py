"""Ocat service: submissions, sign-offs, discard, undo, withdraw, the board and express approval.

Every public method takes the acting ``User`` and enforces the rules itself (the original
checked rights only in its templates, its successor not at all):

* submitting needs ``submit_role`` (``usint``); a ``norm`` or ``clone`` revision only for an
  observation that is scheduled, unobserved or untriggered; the initial sign-offs come from
  the catalog's applicability rules, the warnings from the rules file, the flags are fixed at
  submission; a newer ``norm`` closes the older open ``norm`` revisions as superseded and
  carries forward each signature whose column's parameters did not change (``carried``);
* a column is signed only by its role (admins sign anything), only while pending; the
  verification column only when no other column is pending; "sign-off and approve" also
  approves (an ``asis`` revision unless already approved); ``discard`` (``discard_roles``)
  turns every pending column into ``discarded`` with a reason;
* you may undo your own sign-off within ``undo_hours`` and withdraw your own revision while
  nothing on it is signed; both are recorded, nothing is deleted;
* every change is compare-and-set on the revision's ``version`` and an activity event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from traitlets import Float, Int, List, Unicode
from traitlets.config import LoggingConfigurable

from ..activity.protocols import EventRecorder
from ..core.db import Database
from ..core.errors import Conflict, Forbidden, ValidationError
from ..core.identity import User
from ..core.readcache import ChangeClock, ReadCache, Rendered
from ..core.timeutil import utcnow
from . import express as ex
from . import queries as q
from .catalog import Catalog, Change, load_catalog
from .checks import Checker, load_rules
from .models import OcatObservation, OcatRevision, OcatSignoff
from .plan import Plan, carry, column_row
from .protocols import Notices
from .schemas import (
    BoardQuery,
    BoardRow,
    CatalogOut,
    DiscardIn,
    ExpressIn,
    ExpressOut,
    ObservationOut,
    RevisionDetail,
    RevisionOut,
    SignIn,
    SubmitIn,
    SubmitOut,
    UndoIn,
    WithdrawIn,
    revision_label,
)
from .writes import OcatWriter, transaction

Clock = Callable[[], datetime]
SIGNED = ("signed", "carried")


class OcatService(LoggingConfigurable):
    """Ocat rules; every public method takes the acting ``User``."""

    catalog_path = Unicode(
        "", config=True,
        help=("Parameter catalog file (JSON: parameters, sign-off columns and when each "
              "applies). Empty: the packaged catalog."))
    rules_path = Unicode(
        "", config=True, help="Value-check rules file (JSON). Empty: the packaged rules.")
    undo_hours = Float(36.0, config=True,
                       help="How long after signing a column its signer may undo it, in hours.")
    express_max = Int(500, config=True,
                      help="Most obsids one express approval may name (ranges expanded).")
    board_closed_hours = Float(
        36.0, config=True, help="How long closed revisions stay on the status board, in hours.")
    submit_role = Unicode("usint", config=True,
                          help="Role that may submit revisions and express-approve (POCs).")
    discard_roles = List(Unicode(), default_value=["usint"], config=True,
                         help="Roles that may discard a revision (admins always may).")
    editable_statuses = List(
        Unicode(), default_value=["scheduled", "unobserved", "untriggered"], config=True,
        help="Observation statuses that can take a norm, clone or asis revision.")
    blocked_statuses = List(
        Unicode(), default_value=["observed", "archived", "canceled", "discarded"], config=True,
        help="Observation statuses that express approval refuses (observed or canceled).")

    read_cache_size = Int(16, config=True, help=(
        "Rendered status boards kept until the next change (0: render every read)."))

    def __init__(self, db: Database, events: EventRecorder, writer: OcatWriter,
                 notices: Notices, changes: ChangeClock, clock: Clock = utcnow,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cache = ReadCache(changes, self.read_cache_size)
        self.db = db
        self.events = events
        self.writer = writer
        self.notices = notices
        self.clock = clock
        self.catalog: Catalog = load_catalog(self.catalog_path or None)
        self.checker = Checker(self.catalog, load_rules(self.rules_path or None))

    # -- reading ---------------------------------------------------------------------------
    def catalog_out(self, user: User) -> CatalogOut:
        """The parameter catalog and the sign-off columns."""
        return q.catalog_out(self.catalog)

    def observation(self, user: User, obsid: int) -> ObservationOut:
        with self.db.read() as session:
            return q.observation_out(session, q.load_observation(session, obsid))

    def list_observations(self, user: User, limit: int = 1000) -> list[ObservationOut]:
        with self.db.read() as session:
            rows = session.scalars(select(OcatObservation).order_by(OcatObservation.obsid)
                                   .limit(limit))
            return [q.observation_out(session, r) for r in rows]

    def revision(self, user: User, obsid: int, rev: int) -> RevisionDetail:
        """``obsid.rev`` with original / requested / current values side by side."""
        with self.db.read() as session:
            row, signoffs = q.load_revision(session, obsid, rev)
            return q.detail(session, self.catalog, row, signoffs)

    def revisions_of(self, user: User, obsid: int) -> list[RevisionOut]:
        with self.db.read() as session:
            rows = session.scalars(select(OcatRevision).where(OcatRevision.obsid == obsid)
                                   .order_by(OcatRevision.rev))
            return [q.revision_out(r, q.signoffs_of(session, r.id), self.catalog.column_names,
                                   q.superseded_label(session, r)) for r in rows]

    def board(self, user: User, query: BoardQuery | None = None) -> list[BoardRow]:
        """Open revisions and those closed in the last ``board_closed_hours``."""
        query = query or BoardQuery(closed_hours=self.board_closed_hours)
        cutoff = self.clock() - timedelta(hours=query.closed_hours)
        with self.db.read() as session:
            return q.board(session, cutoff, query.sort, query.order)

    def board_json(self, user: User, query: BoardQuery) -> Rendered:
        """``board`` rendered to JSON once, served until the next Ocat change or until its
        oldest closed revision leaves the window (``GET ocat/board``)."""
        window = timedelta(hours=query.closed_hours)

        def leaves(rows: list[BoardRow]) -> datetime | None:
            closed = [r.closed_at for r in rows if r.closed_at is not None]
            return min(closed) + window if closed else None

        return self.cache.get(("board", query.sort, query.order, query.closed_hours),
                              partial(self.board, user, query), leaves, self.clock)

    def may_sign(self, user: User, column: str) -> bool:
        """Whether ``user``'s roles allow signing ``column`` (the rule ``sign`` enforces)."""
        return user.has_role(self.catalog.column(column).role)

    # -- submitting ------------------------------------------------------------------------
    def submit(self, user: User, spec: SubmitIn) -> SubmitOut:
        """Submit (or with ``dry_run`` only check) a revision of ``spec.obsid``."""
        user.require_role(self.submit_role, "submit Ocat revisions")
        if spec.kind != "norm" and spec.changes:
            raise ValidationError(f"a {spec.kind} revision changes no parameters")
        requested = self.catalog.clean_request(spec.changes)
        now = self.clock()
        if spec.dry_run:
            with self.db.read() as session:
                return self._plan(session, user, spec, requested, now).out(None)
        with transaction(self.db) as session:
            plan = self._plan(session, user, spec, requested, now)
            rev, signoffs = self.writer.insert(
                session, user, plan.obs, kind=spec.kind, comment=spec.comment,
                requested=requested, flags=plan.flags,
                warnings=[w.model_dump() for w in plan.warnings], initial=plan.needs, now=now)
            carried = self._supersede(session, user, rev, signoffs, plan.older, now)
            self.notices.submitted(session, user, plan.obs, rev, signoffs)
            return plan.out(q.revision_out(rev, signoffs, self.catalog.column_names),
                            carried=carried)

    def _plan(self, session: Session, user: User, spec: SubmitIn, requested: dict[str, Any],
              now: datetime) -> Plan:
        obs = q.load_observation(session, spec.obsid, lock=not spec.dry_run)
        self._check_status(session, obs, spec.kind)
        current = dict(obs.values or {})
        changed = self.catalog.changed(current, requested)
        change = Change(spec.kind, str(current.get("instrument") or obs.instrument), changed)
        needs = {c.name: self.catalog.initial(c, change) for c in self.catalog.columns}
        older = self.writer.open_revisions(session, obs.obsid)
        previous = session.scalars(select(OcatRevision.comment).where(
            OcatRevision.obsid == obs.obsid).order_by(OcatRevision.rev.desc()).limit(1)).first()
        comment_changed = bool(spec.comment.strip()) and spec.comment != (previous or "")
        warnings = self.checker.warnings(obs.instrument, current, requested) \
            if spec.kind == "norm" else []
        flags = self.checker.flags(current=current, requested=requested,
                                   planned=obs.planned_date, or_list=obs.or_list,
                                   comment_changed=comment_changed, now=now)
        supersedes = [r for r in older if spec.kind == "norm" and r.kind == "norm"]
        return Plan(obs, needs, warnings, flags, supersedes, spec.dry_run)

    def _check_status(self, session: Session, obs: OcatObservation, kind: str) -> None:
        if kind in ("norm", "clone", "asis") and obs.status not in self.editable_statuses:
            raise Conflict(f"observation {obs.obsid} is {obs.status}: only "
                           f"{', '.join(self.editable_statuses)} observations take a {kind} "
                           "revision")
        if kind == "asis":
            param = self.checker.si_mode_param(obs.instrument)
            if param and not str((obs.values or {}).get(param) or "").strip():
                raise Conflict(f"observation {obs.obsid} has no SI mode ({param}): it cannot "
                               "be approved")

    def _supersede(self, session: Session, user: User, rev: OcatRevision,
                   signoffs: list[OcatSignoff], older: list[OcatRevision], now: datetime
                   ) -> list[str]:
        """Close the older open revisions; carry forward what still holds. Returns the
        columns carried."""
        carried: list[str] = []
        label = revision_label(rev.obsid, rev.rev)
        for number, old in enumerate(older):
            old_signoffs = q.signoffs_of(session, old.id)
            if number == 0:
                carried = carry(self.catalog, self.writer, rev, signoffs, old, old_signoffs)
            for s in old_signoffs:
                if s.status == "pending":
                    self.writer.set_signoff(s, "discarded", signer=None, at=now,
                                            note=f"superseded by {label}")
            old.state, old.closed_at, old.superseded_by = "superseded", now, rev.id
            self.writer.touch(session, user, old, old_signoffs, "MOD", f"superseded by {label}",
                              {"superseded_by": label})
        if carried:
            self.writer.close_if_done(rev, signoffs, now)
            self.writer.touch(session, user, rev, signoffs, "MOD",
                              f"carried forward: {', '.join(carried)}", {"carried": carried})
        return carried

    # -- sign-off actions ----------------------------------------------------------------------
    def sign(self, user: User, obsid: int, rev: int, spec: SignIn) -> RevisionOut:
        """Sign one column (with ``approve``: verification plus approval)."""
        column = self.catalog.column(spec.column)
        if not user.has_role(column.role):
            raise Forbidden(f"{user.username} needs the '{column.role}' role to sign "
                            f"{column.label}")
        if spec.approve and not column.verification:
            raise ValidationError("only the verification column can be signed and approved")
        now = self.clock()
        with transaction(self.db) as session:
            row, signoffs = self._for_change(session, obsid, rev, spec.version)
            if row.state != "open":
                raise Conflict(f"{revision_label(obsid, rev)} is {row.state}")
            target = column_row(signoffs, column.name)
            if target.status != "pending":
                raise Conflict(f"{column.label} of {revision_label(obsid, rev)} is "
                               f"{target.status}, not pending")
            others = [s.column for s in signoffs if s.status == "pending" and s is not target]
            if column.verification and others:
                raise Conflict(f"verify only when nothing else is pending (pending: "
                               f"{', '.join(others)})", details={"pending": others})
            self.writer.set_signoff(target, "signed", signer=user.username, at=now,
                                    note=spec.note)
            self.writer.close_if_done(row, signoffs, now)
            self.writer.touch(session, user, row, signoffs, "MOD", f"{column.name} signed by "
                              f"{user.username}", {"column": column.name, "signoff": "signed"})
            obs = q.load_observation(session, obsid)
            if spec.approve:
                self._approve(session, user, obs, now)
            self.notices.signed(session, user, obs, row, signoffs, column.name)
            return q.revision_out(row, signoffs, self.catalog.column_names)

    def _approve(self, session: Session, user: User, obs: OcatObservation, now: datetime
                 ) -> str | None:
        """Add an ``asis`` revision unless ``obs`` is approved already."""
        if q.approved_map(session, [obs.obsid])[obs.obsid]:
            return None
        self._check_status(session, obs, "asis")
        initial = {c.name: self.catalog.initial(c, Change("asis", obs.instrument, frozenset()))
                   for c in self.catalog.columns}
        rev, _ = self.writer.insert(session, user, obs, kind="asis", comment="approved",
                                    requested={}, flags=[], warnings=[], initial=initial,
                                    now=now)
        return revision_label(rev.obsid, rev.rev)

    def undo(self, user: User, obsid: int, rev: int, spec: UndoIn) -> RevisionOut:
        """Take back your own sign-off of a column within ``undo_hours``."""
        column = self.catalog.column(spec.column)
        now = self.clock()
        with transaction(self.db) as session:
            row, signoffs = self._for_change(session, obsid, rev, spec.version)
            target = column_row(signoffs, column.name)
            if target.status not in SIGNED or target.signer != user.username:
                raise Forbidden(f"only the signer may undo {column.label} of "
                                f"{revision_label(obsid, rev)}")
            if row.state not in ("open", "closed") or row.kind in ("asis", "remove"):
                raise Conflict(f"{revision_label(obsid, rev)} is {row.state} {row.kind}: "
                               "withdraw it instead" if row.kind in ("asis", "remove")
                               else f"{revision_label(obsid, rev)} is {row.state}")
            if target.signed_at is None or now - target.signed_at > timedelta(
                    hours=self.undo_hours):
                raise Conflict(f"sign-offs can be undone for {self.undo_hours:g} h only")
            verification = next(s for s in signoffs
                                if self.catalog.column(s.column).verification)
            if not column.verification and verification.status in SIGNED:
                raise Conflict("undo the verification first")
            self.writer.set_signoff(target, "pending", signer=None, at=now,
                                    note=f"sign-off undone by {user.username}")
            self.writer.close_if_done(row, signoffs, now)
            self.writer.touch(session, user, row, signoffs, "MOD", f"{column.name} sign-off undone",
                              {"column": column.name, "signoff": "pending", "undo": True})
            return q.revision_out(row, signoffs, self.catalog.column_names)

    def discard(self, user: User, obsid: int, rev: int, spec: DiscardIn) -> RevisionOut:
        """Reject: every pending column becomes ``discarded`` (usint or admin)."""
        if not user.is_admin and not any(user.has_role(r) for r in self.discard_roles):
            raise Forbidden(f"{user.username} may not discard revisions")
        now = self.clock()
        with transaction(self.db) as session:
            row, signoffs = self._for_change(session, obsid, rev, spec.version)
            if row.state != "open":
                raise Conflict(f"{revision_label(obsid, rev)} is {row.state}")
            for s in signoffs:
                if s.status == "pending":
                    self.writer.set_signoff(s, "discarded", signer=user.username, at=now,
                                            note=spec.reason)
            self.writer.close_if_done(row, signoffs, now)
            self.writer.touch(session, user, row, signoffs, "MOD", f"discarded: {spec.reason}",
                              {"discarded": True})
            self.notices.discarded(session, user, q.load_observation(session, obsid), row,
                                   spec.reason)
            return q.revision_out(row, signoffs, self.catalog.column_names)

    def withdraw(self, user: User, obsid: int, rev: int, spec: WithdrawIn) -> RevisionOut:
        """Withdraw your own revision while nothing on it is signed (it stays, withdrawn)."""
        now = self.clock()
        with transaction(self.db) as session:
            row, signoffs = self._for_change(session, obsid, rev, spec.version)
            if row.submitter != user.username:
                raise Forbidden(f"only {row.submitter} may withdraw "
                                f"{revision_label(obsid, rev)}")
            if row.state not in ("open", "closed"):
                raise Conflict(f"{revision_label(obsid, rev)} is {row.state}")
            auto = row.kind in ("asis", "remove")
            signed = [s.column for s in signoffs if s.status in SIGNED
                      and not (auto and self.catalog.column(s.column).verification)]
            if signed:
                raise Conflict(f"already signed: {', '.join(signed)}",
                               details={"signed": signed})
            for s in signoffs:
                if s.status == "pending":
                    self.writer.set_signoff(s, "discarded", signer=None, at=now,
                                            note="withdrawn by the submitter")
            row.state, row.closed_at = "withdrawn", now
            self.writer.touch(session, user, row, signoffs, "MOD", "withdrawn by the submitter",
                              {"withdrawn": True})
            return q.revision_out(row, signoffs, self.catalog.column_names)

    def _for_change(self, session: Session, obsid: int, rev: int, version: int | None
                    ) -> tuple[OcatRevision, list[OcatSignoff]]:
        row, signoffs = q.load_revision(session, obsid, rev, lock=True)
        if version is not None and version != row.version:
            raise Conflict(f"{revision_label(obsid, rev)} is at version {row.version}, not "
                           f"{version}; reload and retry", details={"version": row.version})
        return row, signoffs

    # -- express approval ------------------------------------------------------------------------
    def express(self, user: User, spec: ExpressIn) -> ExpressOut:
        """Verdicts for an obsid list; without ``dry_run`` also approve the approvable."""
        user.require_role(self.submit_role, "express-approve")
        obsids = ex.parse_obsids(spec.obsids, self.express_max)
        if spec.dry_run:
            with self.db.read() as session:
                items = self._verdicts(session, user, obsids)
            return ExpressOut(dry_run=True, items=items, approved=[], skipped={})
        now = self.clock()
        with transaction(self.db) as session:
            self.writer.lock_observations(session, obsids)  # verdicts hold until commit
            items = self._verdicts(session, user, obsids)
            todo = [i for i in items if i.verdict in ex.APPROVABLE]
            observations = {o.obsid: o for o in session.scalars(select(OcatObservation).where(
                OcatObservation.obsid.in_([i.obsid for i in todo])))} if todo else {}
            approved: list[str] = []
            for instrument in sorted({o.instrument for o in observations.values()}):
                group = [o for o in observations.values() if o.instrument == instrument]
                initial = {c.name: self.catalog.initial(c, Change("asis", instrument,
                                                                  frozenset()))
                           for c in self.catalog.columns}
                approved += self.writer.insert_many(
                    session, user, group, kind="asis",
                    comment=spec.comment or "express approval", initial=initial, now=now)
            approved = ex.mark_revisions(todo, approved)
            if approved:
                self.notices.approved(session, user, approved,
                                      {o.poc for o in observations.values() if o.poc})
        return ExpressOut(dry_run=False, items=items, approved=approved,
                          skipped=ex.skipped(items))

    def _verdicts(self, session: Session, user: User, obsids: list[int]) -> list[Any]:
        return ex.verdicts(session, user, obsids, blocked_statuses=self.blocked_statuses,
                           si_param=self.checker.si_mode_param)


__all__ = ["OcatService"]
