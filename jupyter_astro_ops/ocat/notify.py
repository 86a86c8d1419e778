"""Ocat mail: what goes to whom, queued in the outbox inside the change's own transaction.

* **change log** of a submission to the observation's POC (and the submitter), copy to the
  groups whose columns are pending;
* **mission planning** (role ``mp_role``) when a flag they care about is set (target name,
  large shift, planned date under 10 days away, OR list); **CDO** (``cdo_role``) when the
  shift or an instrument change needs CDO approval;
* **TOO/DDT hand-off**: when a signature completes a stage (arcops -> SI groups ->
  verification), the next stage's groups (and at verification the POC) are told;
* **discard** notice to the submitter and POC; **express approval** summary;
* a **daily reminder** per pending column to its group at ``reminder_time`` local time, and
  an **escalation** to the duty POC of everything pending longer than
  ``escalate_after_days`` (both at most once a day: the outbox's dedupe key).

Addresses: ``addresses`` (user -> address), else ``<user>@<mail_domain>``; a role's address
is ``role_addresses[role]``, else the addresses of the users listed under the role. Text
bodies with an HTML twin in which every user-written text (comments, notes) is escaped.
"""

from __future__ import annotations

import asyncio
import html
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from traitlets import Bool, Dict, Float, List, Unicode
from traitlets.config import LoggingConfigurable

from ..core.db import Database, serialize
from ..core.identity import User
from ..core.lifecycle import BackgroundLoop
from ..core.timeutil import isoformat, utcnow
from .catalog import Catalog
from .checks import MP_FLAGS
from .models import OcatObservation, OcatRevision, OcatSignoff
from .protocols import Directory, DutyRoster, MailQueue
from .schemas import revision_label

Clock = Callable[[], datetime]


class OcatNotifier(LoggingConfigurable):
    """Composes and queues Ocat mail; runs the daily reminders (``c.OcatNotifier.*``)."""

    addresses = Dict(key_trait=Unicode(), value_trait=Unicode(), config=True,
                     help="User name -> mail address (others get <user>@<mail_domain>).")
    mail_domain = Unicode("localhost", config=True,
                          help="Domain of the default mail address <user>@<domain>.")
    role_addresses = Dict(key_trait=Unicode(), value_trait=Unicode(), config=True,
                          help=("Role -> list address (e.g. {'arcops': 'arcops@cxc.example'});"
                                " roles not listed mail their members one by one."))
    mp_role = Unicode("mp", config=True, help="Role (list) of mission planning.")
    cdo_role = Unicode("cdo", config=True, help="Role (list) that approves CDO requests.")
    handoff_types = List(Unicode(), default_value=["TOO", "DDT"], config=True,
                         help="Observation types whose sign-offs hand off group to group.")
    reminders = Bool(True, config=True, help="Send the daily reminders and escalations.")
    reminder_time = Unicode("04:00", config=True,
                            help="Local time (HH:MM, in `timezone`) of the daily reminders.")
    timezone = Unicode("America/New_York", config=True,
                       help="IANA time zone of the reminder time and of the rota's days.")
    escalate_after_days = Float(3.0, config=True,
                                help="Days a column may stay pending before the duty POC "
                                     "is told.")
    interval_seconds = Float(300.0, config=True,
                             help="Seconds between two checks whether reminders are due.")

    def __init__(self, db: Database, mail: MailQueue, directory: Directory, duty: DutyRoster,
                 catalog: Callable[[], Catalog], clock: Clock = utcnow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db, self.mail, self.directory, self.duty = db, mail, directory, duty
        self.catalog, self.clock = catalog, clock
        self.loop = BackgroundLoop("astro-ops-ocat-reminders", self._round,
                                   interval=self.interval_seconds, log=self.log)

    # -- addresses ---------------------------------------------------------------------------
    def address(self, username: str | None) -> list[str]:
        if not username:
            return []
        return [self.addresses.get(username) or f"{username}@{self.mail_domain}"]

    def role_address(self, role: str) -> list[str]:
        if role in self.role_addresses:
            return [self.role_addresses[role]]
        return [a for name in sorted(self.directory.members(role)) for a in self.address(name)]

    # -- messages of changes (inside the caller's transaction) ---------------------------------
    def submitted(self, session: Session, user: User, obs: OcatObservation, rev: OcatRevision,
                  signoffs: Sequence[OcatSignoff]) -> None:
        label = revision_label(rev.obsid, rev.rev)
        pending = [s.column for s in signoffs if s.status == "pending"]
        catalog = self.catalog()
        cc = [a for c in pending if not catalog.column(c).verification
              for a in self.role_address(catalog.column(c).role)]
        lines = [f"{user.label} ({user.username}) submitted {rev.kind} revision {label} of "
                 f"{obs.target_name} ({obs.instrument}, {obs.obs_type}).", "",
                 f"Comment: {rev.comment or '-'}", "", "Changes (original -> requested):"]
        for name, value in sorted((rev.requested or {}).items()):
            lines.append(f"  {name}: {(rev.original or {}).get(name)!r} -> {value!r}")
        if not rev.requested:
            lines.append("  (none)")
        lines += ["", "Sign-offs needed: " + (", ".join(pending) or "none"),
                  "Flags: " + (", ".join(rev.flags or []) or "none")]
        lines += [f"Warning: {w['message']}" for w in rev.warnings or []]
        body = "\n".join(lines)
        self._send(session, user, "ocat.change_log", [*self.address(obs.poc),
                                                      *self.address(rev.submitter)],
                   f"Ocat {label} {obs.target_name}: {rev.kind} submitted", body, cc=cc)
        flags = set(rev.flags or []) & MP_FLAGS
        if flags:
            self._send(session, user, "ocat.mission_planning", self.role_address(self.mp_role),
                       f"Ocat {label} {obs.target_name}: {', '.join(sorted(flags))}", body)
        if any(w.get("rule") in ("shift", "cdo") for w in rev.warnings or []):
            self._send(session, user, "ocat.cdo", self.role_address(self.cdo_role),
                       f"Ocat {label} {obs.target_name}: CDO approval needed", body)

    def signed(self, session: Session, user: User, obs: OcatObservation, rev: OcatRevision,
               signoffs: Sequence[OcatSignoff], column: str) -> None:
        """The TOO/DDT hand-off: tell the next stage when this signature completed one."""
        if obs.obs_type not in self.handoff_types:
            return
        catalog = self.catalog()
        stage = catalog.column(column).stage
        pending = [catalog.column(s.column) for s in signoffs if s.status == "pending"]
        if any(c.stage <= stage for c in pending) or not pending:
            return
        nxt = min(c.stage for c in pending)
        group = [c for c in pending if c.stage == nxt]
        to = [a for c in group for a in self.role_address(c.role)]
        if any(c.verification for c in group):
            to += self.address(obs.poc)
        label = revision_label(rev.obsid, rev.rev)
        body = (f"{obs.obs_type} {label} {obs.target_name}: {column} was signed by "
                f"{user.label} ({user.username}).\nNow needed: "
                f"{', '.join(c.label for c in group)}.\nComment: {rev.comment or '-'}")
        self._send(session, user, "ocat.handoff", to,
                   f"{obs.obs_type} {label} {obs.target_name}: your sign-off is needed", body)

    def discarded(self, session: Session, user: User, obs: OcatObservation, rev: OcatRevision,
                  reason: str) -> None:
        label = revision_label(rev.obsid, rev.rev)
        body = f"{user.label} ({user.username}) discarded {label}.\nReason: {reason}"
        self._send(session, user, "ocat.discard", [*self.address(rev.submitter),
                                                   *self.address(obs.poc)],
                   f"Ocat {label} {obs.target_name}: discarded", body)

    def approved(self, session: Session, user: User, labels: Sequence[str],
                 pocs: Iterable[str]) -> None:
        body = (f"{user.label} ({user.username}) approved {len(labels)} observation(s) as "
                f"is:\n" + "\n".join(f"  {label}" for label in labels))
        self._send(session, user, "ocat.express", self.address(user.username),
                   f"Ocat express approval: {len(labels)} approved", body,
                   cc=[a for p in sorted(set(pocs)) for a in self.address(p)])

    def _send(self, session: Session, user: User | None, kind: str, to: Iterable[str],
              subject: str, body: str, cc: Iterable[str] = (), dedupe_key: str | None = None
              ) -> bool:
        to, cc = list(to), list(cc)
        if not to and not cc:
            self.log.warning("%s mail %r has no recipient (set c.OcatNotifier.addresses or "
                             "role_addresses)", kind, subject)
        page = f"<html><body><pre>{html.escape(body)}</pre></body></html>"
        acting = self.address(user.username)[0] if user is not None else None
        return self.mail.enqueue(session, kind=kind, to=to, cc=cc, subject=subject, body=body,
                                 html=page, acting=acting, dedupe_key=dedupe_key)

    # -- reminders and escalations -----------------------------------------------------------------
    def due(self, now: datetime) -> bool:
        """Whether today's reminders are due (local time past ``reminder_time``)."""
        hour, minute = (int(x) for x in self.reminder_time.split(":"))
        local = now.astimezone(ZoneInfo(self.timezone))
        return local.time() >= time(hour, minute)

    def send_reminders(self, now: datetime | None = None) -> int:
        """Queue today's reminders and escalations if due and not queued yet (idempotent)."""
        now = now or self.clock()
        if not self.due(now):
            return 0
        day = now.astimezone(ZoneInfo(self.timezone)).date().isoformat()
        catalog = self.catalog()
        queued = 0
        with self.db.write() as session:
            serialize(session, "ocat-reminders")  # the dedupe check below then sees the others
            pending = _pending(session)
            by_column: dict[str, list[tuple[OcatRevision, OcatObservation, OcatSignoff]]] = \
                defaultdict(list)
            for item in pending:
                by_column[item[2].column].append(item)
            for column, items in sorted(by_column.items()):
                col = catalog.column(column)
                body = f"Ocat revisions waiting for {col.label} ({col.role}):\n" + "\n".join(
                    f"  {revision_label(r.obsid, r.rev)} {o.target_name} ({o.obs_type}), "
                    f"submitted {isoformat(r.submitted)} by {r.submitter}" for r, o, _ in items)
                queued += self._send(session, None, "ocat.reminder", self.role_address(col.role),
                                     f"Ocat reminder: {len(items)} waiting for {col.label}",
                                     body, dedupe_key=f"ocat-reminder:{day}:{column}")
            late = [(r, o, s) for r, o, s in pending if s.pending_since is not None
                    and now - s.pending_since > timedelta(days=self.escalate_after_days)]
            poc = self.duty.duty_poc(session, now)
            if late and poc:
                body = (f"Pending for more than {self.escalate_after_days:g} days:\n" +
                        "\n".join(f"  {revision_label(r.obsid, r.rev)} {o.target_name}: "
                                  f"{s.column} since {isoformat(s.pending_since)}"
                                  for r, o, s in late if s.pending_since))
                queued += self._send(session, None, "ocat.escalation", self.address(poc),
                                     f"Ocat escalation: {len(late)} sign-off(s) overdue", body,
                                     dedupe_key=f"ocat-escalation:{day}")
        return queued

    async def _round(self) -> None:
        await asyncio.to_thread(self.duty.ensure_horizon)  # the rota reaches 8 months ahead
        if self.reminders:
            await asyncio.to_thread(self.send_reminders)


def _pending(session: Session) -> list[tuple[OcatRevision, OcatObservation, OcatSignoff]]:
    rows = session.execute(
        select(OcatRevision, OcatObservation, OcatSignoff)
        .join(OcatObservation, OcatObservation.obsid == OcatRevision.obsid)
        .join(OcatSignoff, OcatSignoff.revision_id == OcatRevision.id)
        .where(OcatRevision.state == "open", OcatSignoff.status == "pending")
        .order_by(OcatRevision.submitted))
    return [(r, o, s) for r, o, s in rows]


__all__ = ["OcatNotifier"]
