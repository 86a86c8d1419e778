"""Ocat mail through a real SMTP server (aiosmtpd on loopback): content, recipients, test mode,
the TOO hand-off, reminders and escalations, login, and SMTP down then up (delivered once)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from jupyter_astro_ops.ocat.schemas import SignIn

ALL_CHANGES = {"roll_obsr": 120.5, "bep_pack": "VF", "ra": 83.64}


@dataclass
class Received:
    envelope_to: list[str]
    message: EmailMessage


@dataclass
class Inbox:
    """What the SMTP server received."""

    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(Received(list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m.message["Subject"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def smtp_server(inbox: Inbox, port: int, **kwargs: Any) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller


@pytest.fixture
def inbox(ocat: Any) -> Iterator[Inbox]:
    box = Inbox()
    port = free_port()
    controller = smtp_server(box, port)
    mailer = ocat.mailer
    mailer.enabled, mailer.host, mailer.port = True, "127.0.0.1", port
    ocat.notifier.role_addresses = {"acis": "acis-si@cxc.example", "hrc": "hrc@cxc.example",
                                    "usint": "usint@cxc.example"}
    try:
        yield box
    finally:
        controller.stop()


def body_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def test_change_log_content_and_recipients(submit: Any, ocat: Any, inbox: Inbox) -> None:
    submit("poctwo", 1001, ALL_CHANGES, comment="move <b>it</b> & go")
    assert ocat.mailer.deliver_due() == {"sent": 1, "failed": 0}
    [mail] = inbox.messages
    msg = mail.message
    assert str(msg["Subject"]) == "Ocat 1001.001 Target 1001: norm submitted"
    assert str(msg["From"]) == "ocat@cxc.example"
    assert str(msg["To"]) == "pocone@localhost, poctwo@localhost"  # the POC and submitter
    # copies to the groups whose columns are pending: arcops (a user) and ACIS SI (a list)
    assert str(msg["Cc"]) == "arcmail@localhost, acis-si@cxc.example"
    assert sorted(mail.envelope_to) == sorted(["pocone@localhost", "poctwo@localhost",
                                               "arcmail@localhost", "acis-si@cxc.example"])
    text = body_of(msg)
    assert "roll_obsr: 100.0 -> 120.5" in text and "bep_pack: 'F' -> 'VF'" in text
    assert "Comment: move <b>it</b> & go" in text
    assert "Sign-offs needed: general, acis, acis_si, usint_verification" in text
    assert "move &lt;b&gt;it&lt;/b&gt; &amp; go" in html_of(msg)  # escaped in HTML
    assert "<b>it" not in html_of(msg)
    assert ocat.mailer.deliver_due() == {"sent": 0, "failed": 0}  # sent once


def test_mission_planning_and_cdo(submit: Any, ocat: Any, inbox: Inbox) -> None:
    submit("pocone", 1008, {"ra": 84.0})  # scheduled in 3 days, on the OR list, big shift
    ocat.mailer.deliver_due()
    by_subject = {m.message["Subject"]: m for m in inbox.messages}
    mp = by_subject["Ocat 1008.001 Target 1008: large_shift, near_date, or_list"]
    assert mp.envelope_to == ["mpone@localhost"]
    cdo = by_subject["Ocat 1008.001 Target 1008: CDO approval needed"]
    assert cdo.envelope_to == ["cdoone@localhost"]
    assert "CDO approval is needed" in body_of(cdo.message)


def test_test_mode_sends_to_the_acting_user(submit: Any, ocat: Any, inbox: Inbox) -> None:
    ocat.mailer.test_mode = True
    submit("poctwo", 1008, {"ra": 84.0})
    ocat.mailer.deliver_due()
    assert len(inbox.messages) == 3
    for mail in inbox.messages:
        assert mail.envelope_to == ["poctwo@localhost"]
        assert str(mail.message["Subject"]).startswith("TEST: Ocat 1008.001")
        assert mail.message["Cc"] is None
        assert body_of(mail.message).startswith("[test mode] would have gone to: to ")
    assert "mpone@localhost" in body_of(inbox.messages[1].message)


def test_too_handoff_chain(submit: Any, svc: Any, who: Any, ocat: Any, inbox: Inbox) -> None:
    rev = submit("pocone", 1004, ALL_CHANGES).revision  # a TOO, POC poctwo
    ocat.mailer.deliver_due()
    inbox.messages.clear()
    svc.sign(who["arc"], 1004, rev.rev, SignIn(column="general"))
    ocat.mailer.deliver_due()
    assert inbox.messages == []  # arcops is not done yet (acis pending)
    svc.sign(who["arc"], 1004, rev.rev, SignIn(column="acis"))
    ocat.mailer.deliver_due()
    [handoff] = inbox.messages
    assert handoff.envelope_to == ["acis-si@cxc.example"]
    assert "Now needed: ACIS SI" in body_of(handoff.message)
    svc.sign(who["acisguy"], 1004, rev.rev, SignIn(column="acis_si"))
    ocat.mailer.deliver_due()
    assert sorted(inbox.messages[-1].envelope_to) == ["poctwo@localhost", "usint@cxc.example"]
    assert "Now needed: Verification" in body_of(inbox.messages[-1].message)


def test_no_handoff_for_go_targets(submit: Any, svc: Any, who: Any, ocat: Any,
                                   inbox: Inbox) -> None:
    rev = submit("pocone", 1001, {"roll_obsr": 1.0}).revision
    svc.sign(who["arc"], 1001, rev.rev, SignIn(column="general"))
    ocat.mailer.deliver_due()
    assert inbox.subjects() == ["Ocat 1001.001 Target 1001: norm submitted"]


def test_daily_reminders_and_escalation(submit: Any, ocat: Any, who: Any, clock: Any,
                                        inbox: Inbox) -> None:
    first = ocat.rota.periods(who["root"])[0]
    ocat.rota.assign(who["root"], first.id, "poctwo")
    submit("pocone", 1001, ALL_CHANGES)
    submit("pocone", 1002, {"hrc_si_mode": "HRCTIMING"})
    ocat.mailer.deliver_due()
    inbox.messages.clear()
    clock.now = clock.now.replace(hour=8, minute=0)  # 03:00 in New York: not yet
    assert ocat.notifier.send_reminders() == 0
    clock.now = clock.now.replace(hour=9, minute=30)  # 04:30 in New York
    assert ocat.notifier.send_reminders() == 5  # one per pending column
    assert ocat.notifier.send_reminders() == 0  # once a day
    ocat.mailer.deliver_due()
    subjects = sorted(inbox.subjects())
    assert subjects == ["Ocat reminder: 1 waiting for ACIS", "Ocat reminder: 1 waiting for "
                        "ACIS SI", "Ocat reminder: 1 waiting for General",
                        "Ocat reminder: 1 waiting for HRC SI",
                        "Ocat reminder: 2 waiting for Verification"]
    inbox.messages.clear()
    clock.advance(days=3, hours=4)  # 3 days after the 12:00 submissions
    assert ocat.notifier.send_reminders() == 6  # five reminders and the escalation
    ocat.mailer.deliver_due()
    [escalation] = [m for m in inbox.messages if "escalation" in str(m.message["Subject"])]
    assert escalation.envelope_to == ["poctwo@localhost"]  # the duty POC
    assert "1001.001 Target 1001: general since" in body_of(escalation.message)


def test_smtp_down_then_up_delivers_once(submit: Any, ocat: Any, clock: Any) -> None:
    port = free_port()  # nothing listens here yet
    mailer = ocat.mailer
    mailer.enabled, mailer.host, mailer.port, mailer.timeout = True, "127.0.0.1", port, 2
    submit("pocone", 1001, ALL_CHANGES)
    assert mailer.deliver_due() == {"sent": 0, "failed": 1}
    [queued] = mailer.outbox()
    assert (queued["status"], queued["attempts"]) == ("queued", 1)
    assert "refused" in queued["last_error"].lower() or queued["last_error"]
    assert mailer.deliver_due() == {"sent": 0, "failed": 0}  # backing off: not due yet
    clock.advance(seconds=mailer.retry_seconds + 1)
    assert mailer.deliver_due() == {"sent": 0, "failed": 1}  # still down
    assert mailer.outbox()[0]["attempts"] == 2
    box = Inbox()
    controller = smtp_server(box, port)
    try:
        clock.advance(seconds=2 * mailer.retry_seconds + 1)  # the backoff doubled
        assert mailer.deliver_due() == {"sent": 1, "failed": 0}
        clock.advance(hours=2)
        assert mailer.deliver_due() == {"sent": 0, "failed": 0}
    finally:
        controller.stop()
    assert box.subjects() == ["Ocat 1001.001 Target 1001: norm submitted"]
    assert mailer.outbox()[0]["status"] == "sent"


# a loopback test server takes the login in the clear on purpose: aiosmtpd warns about it
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_login(submit: Any, ocat: Any) -> None:
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        # handled=False: the server answers a refusal with 535 (else it says nothing and
        # the client waits for its whole timeout)
        return AuthResult(success=data.password == b"s3cret", handled=False)

    box, port = Inbox(), free_port()
    controller = smtp_server(box, port, authenticator=authenticator, auth_required=True,
                             auth_require_tls=False)
    mailer = ocat.mailer
    mailer.enabled, mailer.host, mailer.port = True, "127.0.0.1", port
    mailer.username, mailer.password = "ocat", "wrong"
    try:
        submit("pocone", 1001, ALL_CHANGES)
        assert mailer.deliver_due()["failed"] == 1  # refused login: kept for later
        assert "535" in mailer.outbox()[0]["last_error"]  # refused, not timed out
        mailer.password = "s3cret"
        ocat.mailer.clock = lambda: ocat.service.clock() + timedelta(hours=1)
        assert mailer.deliver_due()["sent"] == 1
    finally:
        controller.stop()
    # smtplib tries each offered mechanism (PLAIN, then LOGIN) before giving up
    assert logins[-1] == (b"ocat", b"s3cret") and len(logins) >= 2
    assert set(logins[:-1]) == {(b"ocat", b"wrong")}
    assert len(box.messages) == 1


def _certificate(tmp_path: Any) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (key, cert paths)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_path, cert_path = tmp_path / "smtp.key", tmp_path / "smtp.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls(submit: Any, ocat: Any, tmp_path: Any, security: str) -> None:
    import ssl

    key, cert = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box, port = Inbox(), free_port()
    if security == "ssl":
        controller = smtp_server(box, port, ssl_context=context)
    else:
        controller = smtp_server(box, port, tls_context=context, require_starttls=True)
    mailer = ocat.mailer
    mailer.enabled, mailer.host, mailer.port, mailer.security = True, "127.0.0.1", port, security
    try:
        submit("pocone", 1001, ALL_CHANGES)
        assert mailer.deliver_due()["failed"] == 1  # the system CAs do not know this server
        mailer.ca_file = cert
        ocat.mailer.clock = lambda: ocat.service.clock() + timedelta(hours=1)
        assert mailer.deliver_due() == {"sent": 1, "failed": 0}
    finally:
        controller.stop()
    assert box.subjects() == ["Ocat 1001.001 Target 1001: norm submitted"]
