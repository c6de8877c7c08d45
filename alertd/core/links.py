"""Signed action links: `/a/TOKEN`, where TOKEN lets whoever holds it act on one deadline's due.

A token is a capability, like a password reset link: it names a deadline id and the due it was
made for, and is signed with HMAC-SHA256 under the link key, so it cannot be made or altered
without the key. It works until 7 days after that due, and only for that deadline and due: a
changed due makes new links and old ones useless. Pure: the key and `now` are passed in.

Layout (then base64url without padding, so it is one path segment of `[A-Za-z0-9_-]`):

    version (1 byte) | key id (4) | due, µs since the epoch (8, signed) | deadline id (UTF-8) | MAC (16)

The key id (the first bytes of the key's SHA-256) tells "made with another key" (the key was
changed) from "altered"; it reveals nothing of the key. The MAC covers everything before it,
under a label, truncated to 128 bits as RFC 2104 allows (a forger's chance per try is 2⁻¹²⁸).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

__all__ = ["LIFETIME", "Actions", "Claim", "Linker", "Refusal", "Refused", "actions", "derive_key", "key_id", "mask",
           "sign", "verify"]

LIFETIME = timedelta(days=7)  # a link works until this long after its due
_VERSION = 1
_LABEL = b"alertd action link v1\x00"
_KID = 4
_MAC = 16
_HEAD = 1 + _KID + 8
_ID_MAX = 128  # bytes; config ids are at most 128 ASCII characters
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,400}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_IN_PATH = re.compile(r"/a/[A-Za-z0-9_-]+")


class Refusal(StrEnum):
    """Why a token was refused (the 403 page says it in words)."""

    MALFORMED = "malformed"  # not a token at all (cut short, wrong characters, another version)
    TAMPERED = "tampered"  # made with this key, then altered: the signature does not match
    UNKNOWN_KEY = "unknown_key"  # signed with a key this alertd does not have (the key was changed)
    EXPIRED = "expired"  # more than LIFETIME after its due
    OTHER_DUE = "other_due"  # valid, but the deadline's due has changed since the link was made
    OTHER_DEADLINE = "other_deadline"  # valid, but for another deadline than the one asked about


class Refused(Exception):
    """A token refused, with its `reason`."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Claim:
    """What a valid token grants: acting on `deadline_id` at `due`, until `expires`."""

    deadline_id: str
    due: datetime
    expires: datetime

    def check(self, deadline_id: str, due: datetime) -> None:
        """Raise Refused unless this claim is for `deadline_id` at `due` (the deadline as configured now)."""
        if deadline_id != self.deadline_id:
            raise Refused(Refusal.OTHER_DEADLINE)
        if due != self.due:
            raise Refused(Refusal.OTHER_DUE)


@dataclass(frozen=True, slots=True)
class Actions:
    """The links a message carries: the page, and the page with an action chosen (`?do=`)."""

    page: str
    ack: str
    snooze: str
    done: str

    def buttons(self) -> tuple[tuple[str, str, str], ...]:
        """(action, label, URL) in the order messages show them."""
        return (("ack", "Acknowledge", self.ack), ("snooze", "Snooze 1 h", self.snooze), ("done", "Done", self.done))

    def labelled(self) -> tuple[tuple[str, str], ...]:
        """(label, URL) in the order messages show them."""
        return tuple((label, url) for _, label, url in self.buttons())


def derive_key(secret: str) -> bytes:
    """The link key from a secret given by the operator: HMAC-SHA256 under a fixed label, so the
    secret itself signs nothing and need be kept nowhere but where it was given."""
    return hmac.new(b"alertd action-link key", secret.encode(), hashlib.sha256).digest()


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:_KID]


def _micros(due: datetime) -> int:
    if due.tzinfo is None:
        raise ValueError("a link's due must be an aware datetime")
    delta = due - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, _LABEL + body, hashlib.sha256).digest()[:_MAC]


def sign(deadline_id: str, due: datetime, *, key: bytes) -> str:
    """The token for acting on `deadline_id` at `due`, signed with `key` (at least 16 bytes)."""
    if len(key) < 16:
        raise ValueError("a link key has at least 16 bytes")
    ident = deadline_id.encode()
    if not 0 < len(ident) <= _ID_MAX:
        raise ValueError("a deadline id has 1 to 128 bytes")
    body = bytes([_VERSION]) + key_id(key) + _micros(due).to_bytes(8, "big", signed=True) + ident
    return base64.urlsafe_b64encode(body + _mac(key, body)).rstrip(b"=").decode("ascii")


def verify(token: str, *, key: bytes, now: datetime) -> Claim:
    """The claim of a token made with `key`, still valid at `now`; raises Refused saying why not.

    The signature is compared in constant time, and checked before anything the token says is
    believed: only then its expiry.
    """
    raw = _decode(token)
    if raw is None or len(raw) < _HEAD + 1 + _MAC or raw[0] != _VERSION:
        raise Refused(Refusal.MALFORMED)
    body, mac = raw[:-_MAC], raw[-_MAC:]
    if not hmac.compare_digest(body[1:1 + _KID], key_id(key)):
        raise Refused(Refusal.UNKNOWN_KEY)
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise Refused(Refusal.TAMPERED)
    try:
        ident = body[_HEAD:].decode()
        due = _EPOCH + timedelta(microseconds=int.from_bytes(body[1 + _KID:_HEAD], "big", signed=True))
    except (UnicodeDecodeError, OverflowError):  # signed by us, so never; but never a traceback either
        raise Refused(Refusal.MALFORMED) from None
    expires = due + LIFETIME
    if now >= expires:
        raise Refused(Refusal.EXPIRED)
    return Claim(ident, due, expires)


def _decode(token: str) -> bytes | None:
    """base64url without padding, canonical only: a token whose last character's spare bits were
    changed decodes to the same bytes, and is refused rather than taken as the original."""
    if not _TOKEN.fullmatch(token) or len(token) % 4 == 1:
        return None
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return raw if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == token else None


def actions(base_url: str, token: str) -> Actions:
    """The links of one token under the public base URL (`https://alertd.example.org`)."""
    page = f"{base_url.rstrip('/')}/a/{token}"
    return Actions(page=page, ack=f"{page}?do=ack", snooze=f"{page}?do=snooze", done=f"{page}?do=done")


@dataclass(frozen=True, slots=True)
class Linker:
    """Makes the action links of a deadline's due: the public base URL and the link key."""

    base_url: str
    key: bytes = field(repr=False)  # never in a repr, a traceback's locals or a log

    def actions_for(self, deadline_id: str, due: datetime) -> Actions:
        return actions(self.base_url, sign(deadline_id, due, key=self.key))


def mask(text: str) -> str:
    """`text` with every `/a/TOKEN` made `/a/…`: a token is a capability and stays out of logs."""
    return _IN_PATH.sub("/a/…", text)
