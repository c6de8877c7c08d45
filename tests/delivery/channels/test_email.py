"""The e-mail channel against a real aiosmtpd server with STARTTLS and AUTH on loopback."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from alertd.config.schema import EmailChannel
from alertd.delivery.channels.base import DeliveryError, SendContext
from alertd.delivery.channels.registry import build_sender
from alertd.redact import Redactor
from tests.seed import seed_note

PASSWORD = "smtp-pass-Zq81"


class EphemeralController(Controller):
    """aiosmtpd's Controller on port 0: learn the port the kernel gave before the self-check."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Mailbox:
    """What the server received; `reply` is what DATA answers (a 250 by default)."""

    envelopes: list[Envelope] = field(default_factory=list)
    reply: str = "250 OK"
    refuse: set[str] = field(default_factory=set)  # recipients RCPT answers 550 for

    async def handle_RCPT(self, server: object, session: object, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        if self.reply.startswith("250"):
            self.envelopes.append(envelope)
        return self.reply


def authenticate(server: object, session: object, envelope: object, mechanism: str, auth_data: object) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"alertd", PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd itself answers 535


@dataclass
class SmtpPeer:
    port: int
    mailbox: Mailbox
    ca_file: Path


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, path


@pytest.fixture
def smtp_server(ca: tuple[trustme.CA, Path]) -> Iterator[SmtpPeer]:
    authority, ca_file = ca
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    mailbox = Mailbox()
    controller = EphemeralController(mailbox, hostname="127.0.0.1", port=0, tls_context=server_ctx,
                                     require_starttls=True, authenticator=authenticate, auth_require_tls=True)
    controller.start()
    yield SmtpPeer(controller.port, mailbox, ca_file)
    controller.stop()


def channel(peer: SmtpPeer, **smtp: object) -> EmailChannel:
    settings = {"host": "127.0.0.1", "port": peer.port, "security": "starttls", "username": "alertd",
                "password": PASSWORD, "ca_file": str(peer.ca_file), "timeout": 5, **smtp}
    return EmailChannel.model_validate({"type": "email", "to": ["desk@example.org", "duty@example.org"],
                                        "from": "alertd@example.org", "smtp": settings,
                                        "timezone": "America/New_York"})


async def _send(config: EmailChannel, note: object) -> DeliveryError | None:
    ctx = SendContext.create(Redactor([PASSWORD]))
    try:
        await build_sender("desk-email", config, ctx).send(note, now=datetime.now(UTC))
    except DeliveryError as exc:
        return exc
    finally:
        await ctx.aclose()
    return None


def send(config: EmailChannel, note: object) -> DeliveryError | None:
    return asyncio.run(_send(config, note))


def test_it_delivers_over_starttls_with_auth(smtp_server: SmtpPeer) -> None:
    note = seed_note("1d")
    assert send(channel(smtp_server), note) is None
    (envelope,) = smtp_server.mailbox.envelopes
    assert envelope.mail_from == "alertd@example.org"
    assert envelope.rcpt_tos == ["desk@example.org", "duty@example.org"]
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert mail["Subject"] == "[alertd] in 1 day: Ten US diplomats must leave Russia"
    assert mail["X-Alertd-Alert-Id"] == note.key
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Due: Fri 21 May 2021, 24:00 MSK (Europe/Moscow)" in text
    assert "Fri 21 May 2021, 21:00 UTC" in text
    assert "Fri 21 May 2021, 17:00 EDT (America/New_York)" in text
    assert "24:00 MSK" in mail.get_body(preferencelist=("html",)).get_content()
    (ics,) = [part for part in mail.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert ics.get_filename() == "us-diplomats-leave-russia.ics"
    calendar = ics.get_content()
    assert "BEGIN:VEVENT\r\n" in calendar
    assert "DTSTART:20210521T210000Z\r\n" in calendar
    assert "UID:us-diplomats-leave-russia-20210521T210000Z@alertd\r\n" in calendar


def test_a_title_with_crlf_adds_no_header_and_no_recipient(smtp_server: SmtpPeer) -> None:
    note = seed_note("1d")
    note = replace(note, deadline=replace(note.deadline, title="Leave\r\nBcc: x@example.org\r\n\r\nbody"))
    assert send(channel(smtp_server), note) is None
    (envelope,) = smtp_server.mailbox.envelopes
    assert envelope.rcpt_tos == ["desk@example.org", "duty@example.org"]
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert mail["Bcc"] is None
    assert mail["Subject"] == "[alertd] in 1 day: Leave Bcc: x@example.org body"
    header_block = envelope.original_content.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in header_block


@pytest.mark.parametrize("payload", [
    "=?utf-8?b?" + base64.b64encode(b"x\r\nBcc: evil@example.org\r\n").decode() + "?=",
    "=?utf-8?q?x=0D=0ABcc=3A_evil@example.org?=",
    "=?iso-8859-1?B?" + base64.b64encode(b"\r\nBcc: evil@example.org").decode() + "?=",
    "\x00\x1b[31m\x85Bcc: evil@example.org\u2028Cc: evil@example.org",
])
def test_an_encoded_word_or_control_characters_in_a_title_add_no_header_and_no_recipient(
        smtp_server: SmtpPeer, payload: str) -> None:
    """The email package decodes `=?...?=` in header values and folds what it decoded: on Python
    3.11.7 an encoded CR/LF became a real `Bcc:` line. The subject must stay one line of text."""
    note = seed_note("1d")
    note = replace(note, deadline=replace(note.deadline, title=f"Leave {payload} now"))
    assert send(channel(smtp_server), note) is None
    (envelope,) = smtp_server.mailbox.envelopes
    assert envelope.rcpt_tos == ["desk@example.org", "duty@example.org"]
    header_block = envelope.original_content.split(b"\r\n\r\n", 1)[0]
    names = [line.split(b":", 1)[0].lower() for line in header_block.split(b"\r\n") if line[:1] not in (b" ", b"\t")]
    assert b"bcc" not in names and b"cc" not in names
    assert names.count(b"subject") == 1
    assert all(32 <= b < 127 for b in header_block.replace(b"\r\n", b"")), "headers are 7-bit printable"
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    subject = mail["Subject"].strip()  # a long value is folded whole onto the next line: a leading space
    assert subject.startswith("[alertd] in 1 day: Leave ") and subject.endswith(" now")
    assert "\n" not in subject and "\r" not in subject and "\x1b" not in subject and "\x00" not in subject


def test_a_partly_refused_recipient_list_is_a_failure_naming_who(smtp_server: SmtpPeer) -> None:
    smtp_server.mailbox.refuse = {"duty@example.org"}
    error = send(channel(smtp_server), seed_note())
    assert error is not None
    assert (str(error), error.permanent, error.reason) == (
        "SMTP: delivered to 1 of 2 recipients; refused: duty@example.org (550)", True, "recipients_refused")
    (envelope,) = smtp_server.mailbox.envelopes  # the other one has it: no retry may send it twice
    assert envelope.rcpt_tos == ["desk@example.org"]


def test_a_certificate_from_an_untrusted_ca_is_refused(smtp_server: SmtpPeer, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    error = send(channel(smtp_server, ca_file=str(other)), seed_note())
    assert error is not None
    assert error.permanent
    assert str(error).startswith("TLS certificate not trusted")
    assert smtp_server.mailbox.envelopes == []


def test_the_system_trust_store_does_not_trust_a_private_ca(smtp_server: SmtpPeer) -> None:
    config = channel(smtp_server)
    config = config.model_copy(update={"smtp": config.smtp.model_copy(update={"ca_file": None})})
    error = send(config, seed_note())
    assert error is not None
    assert error.permanent


def test_a_wrong_password_is_permanent_and_not_shown(smtp_server: SmtpPeer) -> None:
    error = send(channel(smtp_server, password="wrong-password-1"), seed_note())
    assert error is not None
    assert error.permanent
    assert "535" in str(error)
    assert "wrong-password-1" not in str(error)


@pytest.mark.parametrize(("reply", "permanent"), [("451 4.3.0 try again later", False),
                                                  ("554 5.7.1 rejected", True)])
def test_smtp_4xx_is_retryable_and_5xx_permanent(smtp_server: SmtpPeer, reply: str, permanent: bool) -> None:
    smtp_server.mailbox.reply = reply
    error = send(channel(smtp_server), seed_note())
    assert error is not None
    assert error.permanent is permanent
    assert reply.split(maxsplit=1)[0] in str(error)


def test_plain_smtp_without_starttls_is_refused_by_a_server_that_requires_it(smtp_server: SmtpPeer) -> None:
    error = send(channel(smtp_server, security="none"), seed_note())
    assert error is not None
    assert smtp_server.mailbox.envelopes == []


def test_a_closed_port_is_a_retryable_connection_error() -> None:
    config = EmailChannel.model_validate({"type": "email", "to": ["a@example.org"], "from": "b@example.org",
                                          "smtp": {"host": "127.0.0.1", "port": 9, "security": "none"}})
    error = send(config, seed_note())
    assert error is not None
    assert not error.permanent
    assert str(error).startswith("SMTP connection failed")


def test_it_delivers_over_implicit_tls(ca: tuple[trustme.CA, Path]) -> None:
    authority, ca_file = ca
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_ctx)
    mailbox = Mailbox()
    controller = EphemeralController(mailbox, hostname="127.0.0.1", port=0, ssl_context=server_ctx,
                                     authenticator=authenticate, auth_require_tls=False)
    controller.start()
    try:
        peer = SmtpPeer(controller.port, mailbox, ca_file)
        assert send(channel(peer, security="tls"), seed_note()) is None
    finally:
        controller.stop()
    assert len(mailbox.envelopes) == 1


def test_a_ca_file_gone_since_the_check_is_a_permanent_error_naming_it(smtp_server: SmtpPeer,
                                                                        tmp_path: Path) -> None:
    gone = tmp_path / "missing.pem"
    gone.write_bytes(smtp_server.ca_file.read_bytes())
    config = channel(smtp_server, ca_file=str(gone))  # check reads it (test_config_checks.py) ...
    gone.unlink()  # ... and it is removed before the first send
    error = send(config, seed_note())
    assert error is not None
    assert error.permanent
    assert "missing.pem cannot be used" in str(error)
