"""``Mailer``: queue mail in the caller's transaction, deliver it over SMTP in the background.

``enqueue(session, ...)`` adds an outbox row inside the caller's write transaction. ``loop``
(a ``BackgroundLoop``, started by ``Services.start`` where background work runs) calls
``deliver_due()``: each due message is first *claimed* with one conditional UPDATE (a lease,
so two senders in two processes never send one message), then handed to the SMTP server, then
marked ``sent``. A failure (server down, refused login, timeout) keeps the message queued with
``next_attempt`` pushed back exponentially (``retry_seconds`` doubling up to
``max_retry_seconds``): nothing is dropped, and once accepted it is never sent again.

Test mode (``c.Mailer.test_mode``) rewrites every message at enqueue time: it goes only to
the acting user, the subject starts with ``TEST:`` and the body says who would have got it.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from traitlets import Bool, Enum, Float, Int, Unicode
from traitlets.config import LoggingConfigurable

from ..core.db import Database
from ..core.lifecycle import BackgroundLoop
from ..core.timeutil import utcnow
from .models import MailMessage

QUEUED, SENT = "queued", "sent"
TEST_PREFIX = "TEST: "
Clock = Callable[[], datetime]


def _clean_header(text: str, limit: int = 500) -> str:
    """One line: a newline in a subject would start a new header (header injection)."""
    return " ".join(text.split())[:limit]


def _addresses(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        address = _clean_header(value, 254)
        if address and "@" in address and address not in out:
            out.append(address)
    return out


class Mailer(LoggingConfigurable):
    """The outbox and its SMTP sender (``c.Mailer.*``)."""

    enabled = Bool(
        False, config=True,
        help=("Deliver queued mail over SMTP. Off: messages are still queued in the outbox "
              "table (nothing is lost) but no connection is made."))
    host = Unicode("localhost", config=True, help="SMTP server host name.")
    port = Int(25, config=True, help="SMTP server port (587 for STARTTLS, 465 for SSL).")
    security = Enum(["none", "starttls", "ssl"], default_value="none", config=True,
                    help="Transport security: plain, STARTTLS after connecting, or SSL/TLS.")
    ca_file = Unicode("", config=True,
                      help=("CA bundle (PEM) that signs the SMTP server's certificate, for "
                            "STARTTLS and SSL. Empty: the system's trusted CAs."))
    username = Unicode("", config=True, help="SMTP login name (empty: no login).")
    password = Unicode("", config=True, help="SMTP login password.")
    from_address = Unicode("astro-ops@localhost", config=True,
                           help="Sender address (From:) of every message.")
    test_mode = Bool(
        False, config=True,
        help=("Send every message to the acting user only, with a 'TEST: ' subject prefix "
              "and the real recipients listed in the body (as the Ocat original's test mode)."))
    timeout = Float(20.0, config=True, help="Seconds to wait for the SMTP server.")
    interval_seconds = Float(30.0, config=True,
                             help="Seconds between two looks at the outbox for due mail.")
    retry_seconds = Float(60.0, config=True,
                          help="Delay before the first retry of a failed message (doubles).")
    max_retry_seconds = Float(3600.0, config=True,
                              help="Longest delay between two retries of one message.")
    lease_seconds = Float(300.0, config=True,
                          help="How long a sender holds a claimed message before another may.")
    batch = Int(100, config=True, help="Most messages delivered in one round.")

    def __init__(self, db: Database, clock: Clock = utcnow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.clock = clock
        self.loop = BackgroundLoop("astro-ops-mail", self._round,
                                   interval=self.interval_seconds, log=self.log)

    # -- queueing (inside the caller's transaction) -------------------------------------------
    def enqueue(self, session: Session, *, kind: str, to: Iterable[str], subject: str,
                body: str, html: str = "", cc: Iterable[str] = (), bcc: Iterable[str] = (),
                acting: str | None = None, dedupe_key: str | None = None) -> bool:
        """Queue one message; ``False`` if ``dedupe_key`` was queued before or nobody is left.

        ``acting`` is the address of the user whose action sends the mail (test mode sends it
        there instead).
        """
        to_list, cc_list, bcc_list = _addresses(to), _addresses(cc), _addresses(bcc)
        subject = _clean_header(subject)
        if self.test_mode:
            real = (f"[test mode] would have gone to: to {', '.join(to_list) or '-'}; "
                    f"cc {', '.join(cc_list) or '-'}; bcc {', '.join(bcc_list) or '-'}\n\n")
            to_list, cc_list, bcc_list = _addresses([acting or self.from_address]), [], []
            subject, body = TEST_PREFIX + subject, real + body
        if not (to_list or cc_list or bcc_list):
            return False
        if dedupe_key is not None and session.scalar(
                select(MailMessage.id).where(MailMessage.dedupe_key == dedupe_key)):
            return False
        now = self.clock()
        domain = self.from_address.rpartition("@")[2] or "localhost"
        row = MailMessage(kind=kind, sender=self.from_address, to=to_list, cc=cc_list,
                          bcc=bcc_list, subject=subject, body=body, html=html,
                          message_id=f"<{uuid.uuid4().hex}@{domain}>", dedupe_key=dedupe_key,
                          status=QUEUED, attempts=0, next_attempt=now, created=now,
                          last_error="")
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # another process queued the same dedupe key meanwhile
            return False
        self.loop.wake()
        return True

    # -- delivering ---------------------------------------------------------------------------
    def deliver_due(self) -> dict[str, int]:
        """Deliver every due message once; returns ``{"sent": n, "failed": m}``."""
        done = {"sent": 0, "failed": 0}
        if not self.enabled:
            return done
        for message_id in self._due_ids():
            row = self._claim(message_id)
            if row is None:
                continue
            try:
                self._send(row)
            except (OSError, smtplib.SMTPException) as exc:
                self._failed(row, exc)
                done["failed"] += 1
                break  # the server is down or refusing: try the rest later
            self._sent(row)
            done["sent"] += 1
        return done

    def _due_ids(self) -> list[int]:
        now = self.clock()
        with self.db.read() as session:
            return list(session.scalars(
                select(MailMessage.id)
                .where(MailMessage.status == QUEUED, MailMessage.next_attempt <= now)
                .order_by(MailMessage.next_attempt, MailMessage.id).limit(self.batch)))

    def _claim(self, message_id: int) -> MailMessage | None:
        """Take the lease on a due message (``None`` if another sender holds it)."""
        now = self.clock()
        with self.db.write() as session:
            claimed = session.execute(
                update(MailMessage)
                .where(MailMessage.id == message_id, MailMessage.status == QUEUED,
                       (MailMessage.claimed_until.is_(None))
                       | (MailMessage.claimed_until < now))
                .values(claimed_until=now + timedelta(seconds=self.lease_seconds)))
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return session.get(MailMessage, message_id)

    def _send(self, row: MailMessage) -> None:
        msg = EmailMessage()
        msg["From"] = row.sender
        if row.to:
            msg["To"] = ", ".join(row.to)
        if row.cc:
            msg["Cc"] = ", ".join(row.cc)
        msg["Subject"] = row.subject
        msg["Message-ID"] = row.message_id
        msg["Date"] = formatdate(row.created.timestamp(), usegmt=True)
        msg.set_content(row.body)
        if row.html:
            msg.add_alternative(row.html, subtype="html")
        recipients = [*row.to, *row.cc, *row.bcc]
        with self._connect() as smtp:
            smtp.send_message(msg, from_addr=row.sender, to_addrs=recipients)

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.ca_file or None)
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                  context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                smtp.starttls(context=context)
        if self.username:
            smtp.login(self.username, self.password)
        return smtp

    def _sent(self, row: MailMessage) -> None:
        with self.db.write() as session:
            session.execute(update(MailMessage).where(MailMessage.id == row.id).values(
                status=SENT, sent_at=self.clock(), attempts=MailMessage.attempts + 1,
                claimed_until=None, last_error=""))

    def _failed(self, row: MailMessage, exc: BaseException) -> None:
        attempts = row.attempts + 1
        delay = min(self.retry_seconds * 2 ** (attempts - 1), self.max_retry_seconds)
        self.log.warning("mail %s to %s not sent (attempt %d, retry in %.0f s): %s",
                         row.id, row.to, attempts, delay, exc)
        with self.db.write() as session:
            session.execute(update(MailMessage).where(MailMessage.id == row.id).values(
                attempts=attempts, claimed_until=None, last_error=str(exc)[:2000],
                next_attempt=self.clock() + timedelta(seconds=delay)))

    async def _round(self) -> None:
        await asyncio.to_thread(self.deliver_due)

    # -- reading --------------------------------------------------------------------------------
    def outbox(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest messages (for admins and tests), as plain data."""
        with self.db.read() as session:
            rows = session.scalars(select(MailMessage).order_by(MailMessage.id.desc())
                                   .limit(limit))
            return [{"id": r.id, "kind": r.kind, "to": r.to, "cc": r.cc, "bcc": r.bcc,
                     "subject": r.subject, "body": r.body, "status": r.status,
                     "attempts": r.attempts, "last_error": r.last_error,
                     "dedupe_key": r.dedupe_key, "created": r.created, "sent_at": r.sent_at}
                    for r in rows]


__all__ = ["QUEUED", "SENT", "TEST_PREFIX", "Mailer"]
