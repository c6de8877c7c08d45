"""E-mail over SMTP: plain text plus HTML, and the deadline as an .ics attachment.

smtplib runs in a small thread pool of its own: it is mature, supports STARTTLS,
implicit TLS and AUTH, and e-mail alerts are few (the HTTP channels carry the
bursts). The pool is not asyncio's default one, so slow mail servers cannot starve
other `to_thread` users.

Verdicts follow RFC 5321 §4.2.1: 4yz replies are transient (retry), 5yz permanent.
"""

from __future__ import annotations

import asyncio
import html
import re
import smtplib
import ssl
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import structlog

from alertd.config.schema import EmailChannel, SmtpSettings
from alertd.core.ics import build_calendar
from alertd.core.message import Message, one_line, render
from alertd.core.notification import Notification
from alertd.delivery.channels.base import USER_AGENT, DeliveryError, SendContext

__all__ = ["EmailSender", "build_email", "header_text"]

log = structlog.get_logger("alertd.email")
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="alertd-smtp")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_WORD_JOINER = "\u2060"


def header_text(text: str) -> str:
    """Config text made safe as a header value, on any Python: one line, no control characters (NUL,
    ESC, CR, LF, ...), and never an RFC 2047 encoded word. The email package decodes `=?...?=` it
    finds in a value and folds the result: on some Python versions (3.11.7) an encoded CR/LF then
    became a real `Bcc:` line. An invisible word joiner after each `=` that starts `=?` leaves nothing
    to decode; the policy encodes the text (non-ASCII now) as encoded words of its own."""
    return " ".join(_CONTROL.sub(" ", text).split()).replace("=?", f"={_WORD_JOINER}?")


def build_email(note: Notification, config: EmailChannel, *, now: datetime) -> EmailMessage:
    """The message for `note`. Header values are single lines that no parser can take for more."""
    msg_text = render(note, now=now, channel_zone=config.timezone)
    mail = EmailMessage()  # the default policy refuses CR/LF in header values; header_text removes them first
    mail["Subject"] = header_text(msg_text.subject)
    mail["From"] = config.from_
    mail["To"] = ", ".join(config.to)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid("alertd", domain=config.from_.rpartition("@")[2])
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the daemon
    mail["X-Alertd-Alert-Id"] = note.key
    mail["X-Mailer"] = USER_AGENT
    mail.set_content(msg_text.text)
    mail.add_alternative(_html(msg_text), subtype="html")
    calendar = build_calendar([note.deadline], now=now, alarms=False)
    mail.add_attachment(calendar.encode("utf-8"), maintype="text", subtype="calendar",
                        filename=f"{note.deadline.id}.ics", params={"method": "PUBLISH", "charset": "utf-8"})
    return mail


def _html(msg: Message) -> str:
    e = html.escape
    dues = "<br>".join(e(str(d)) for d in msg.dues)
    parts = [f"<h2>{e(one_line(msg.title))}</h2>", f"<p><strong>{e(msg.headline)}</strong><br>Due {dues}</p>"]
    if msg.late_note:
        parts.append(f"<p><em>{e(msg.late_note)}</em></p>")
    if msg.remark:
        parts.append(f"<blockquote>{e(msg.remark)}</blockquote>")
    if msg.notes:
        parts.append(f"<p>{e(msg.notes)}</p>")
    if msg.links:
        items = "".join(f'<li><a href="{e(link)}">{e(link)}</a></li>' for link in msg.links)
        parts.append(f"<ul>{items}</ul>")
    if msg.tags:
        parts.append(f"<p>Tags: {e(', '.join(msg.tags))}</p>")
    if msg.actions:
        parts.append("<p>" + " · ".join(f'<a href="{e(url)}">{e(label)}</a>' for label, url in msg.actions.labelled())
                     + "</p>")
    if msg.hint:
        what, _, command = msg.hint.partition(": ")
        parts.append(f"<p>{e(what)}: <code>{e(command)}</code></p>")
    return "<!doctype html>\n<html><body>\n" + "\n".join(parts) + "\n</body></html>\n"


def tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    """Certificate and host name verification always on; `ca_file` replaces the system CAs."""
    return ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)


def _deliver(smtp: SmtpSettings, context: ssl.SSLContext | None, mail: EmailMessage, sender: str,
             recipients: list[str]) -> dict:
    """Blocking SMTP exchange; returns the refused recipients (smtplib raises when all are)."""
    port = smtp.effective_port
    if smtp.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, port, timeout=smtp.timeout)
    with client:
        client.ehlo()
        if smtp.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if smtp.username:
            password = smtp.password.get_secret_value() if smtp.password else ""
            client.login(smtp.username, password)
        return client.send_message(mail, from_addr=sender, to_addrs=recipients)


class EmailSender:
    def __init__(self, name: str, config: EmailChannel, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx
        self._tls: ssl.SSLContext | None = None

    def tls(self) -> ssl.SSLContext | None:
        """The TLS context, built once per sender (loading CA files costs milliseconds per burst)."""
        smtp = self.config.smtp
        if smtp.security == "none":
            return None
        if self._tls is None:
            try:
                self._tls = tls_context(smtp)
            except (OSError, ssl.SSLError) as exc:
                # A CA file that is missing or not PEM will not fix itself between retries.
                reason = getattr(exc, "strerror", None) or type(exc).__name__
                raise DeliveryError(f"smtp.ca_file {smtp.ca_file} cannot be used: {reason}", permanent=True) from None
        return self._tls

    async def send(self, note: Notification, *, now: datetime) -> None:
        mail = build_email(note, self.config, now=now)
        context = self.tls()
        loop = asyncio.get_running_loop()
        try:
            refused = await loop.run_in_executor(_POOL, _deliver, self.config.smtp, context, mail,
                                                 self.config.from_, list(self.config.to))
        except Exception as exc:
            raise self.verdict(exc) from None
        if refused:
            # Not sent: not to everyone it was for. Not retried either: the others have the message
            # and a retry would send it to them twice. Failed, naming who was refused and why.
            log.warning("email.recipients_refused", channel=self.name, alert_id=note.key,
                        refused={addr: code for addr, (code, _) in refused.items()})
            who = ", ".join(f"{addr} ({code})" for addr, (code, _) in sorted(refused.items()))
            raise DeliveryError(f"SMTP: delivered to {len(self.config.to) - len(refused)} of {len(self.config.to)} "
                                f"recipients; refused: {who}", permanent=True, reason="recipients_refused")

    def verdict(self, exc: Exception) -> DeliveryError:
        """The DeliveryError for an SMTP exchange that failed with `exc`."""
        redact = self.ctx.redact
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            transient = all(400 <= c < 500 for c in codes)
            return DeliveryError(f"SMTP: every recipient refused ({', '.join(map(str, sorted(codes)))})",
                                 permanent=not transient)
        if isinstance(exc, smtplib.SMTPResponseException):
            text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(
                exc.smtp_error)
            reply = one_line(redact(text))[:160]
            what = "login refused" if isinstance(exc, smtplib.SMTPAuthenticationError) else "reply"
            return DeliveryError(f"SMTP {what} {exc.smtp_code}: {reply}", permanent=not 400 <= exc.smtp_code < 500)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return DeliveryError(f"SMTP: {redact(str(exc))} (check smtp.security)", permanent=True)
        if isinstance(exc, ssl.SSLCertVerificationError):
            # A certificate we cannot verify will not verify on retry; the operator must fix
            # the server or set smtp.ca_file. Verification is never switched off.
            return DeliveryError(f"TLS certificate not trusted: {exc.verify_message}", permanent=True)
        if isinstance(exc, TimeoutError):
            return DeliveryError(f"SMTP: no answer within {self.config.smtp.timeout:g} s")
        if isinstance(exc, smtplib.SMTPServerDisconnected | ssl.SSLError | OSError):
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            return DeliveryError(f"SMTP connection failed: {redact(str(reason))}")
        return DeliveryError(f"SMTP: {type(exc).__name__}: {redact(str(exc))}")
