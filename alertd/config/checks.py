"""Checks for channel settings that could never be delivered, or would be delivered unsafely.

`alertd check` refuses these with the file and line instead of the daemon retrying them as
temporary failures: a URL with credentials, a port out of range, a host that is not a host
name or IP address, control characters (a CR/LF inside a `${VAR}`), headers that would break
HTTP framing, non-ASCII header values, a CA file that is not a readable certificate file,
cleartext where it is not loopback. Every function raises ValueError with the message the
schema shows; none of them puts a secret into it.
"""

from __future__ import annotations

import os
import ssl
import stat
from pathlib import Path

from alertd.core.urls import check_host, check_text, check_url, is_loopback, visible_ascii

__all__ = ["FIXED_HEADERS", "check_ca_file", "check_header", "check_host", "check_text", "check_url", "is_loopback",
           "is_secret_field", "is_secret_header", "visible_ascii"]

# Headers the HTTP client must set itself (framing, connection management) and those alertd sets
# (its content type and agent, the Standard Webhooks signature): a config value would break the
# request or forge the signature.
FIXED_HEADERS = frozenset({
    "connection", "content-length", "expect", "host", "keep-alive", "proxy-connection", "te", "trailer",
    "transfer-encoding", "upgrade", "content-type", "user-agent", "webhook-id", "webhook-timestamp",
    "webhook-signature",
})
# A header whose value is a credential by its name: its value is redacted everywhere.
_SECRET_HEADER_WORDS = ("auth", "token", "secret", "key", "password", "passwd", "signature", "session", "cookie",
                        "credential")


def is_secret_header(name: str) -> bool:
    """Whether a header's value is a credential (Authorization, X-Api-Key, X-Token, Cookie, ...)."""
    lower = name.lower()
    return any(word in lower for word in _SECRET_HEADER_WORDS)


def is_secret_field(loc: tuple) -> bool:
    """Whether a place in a config file (`("channels", name, "url")`) holds a secret: a channel's
    URL or signing key, an SMTP password, a credential header's value."""
    if len(loc) < 3 or loc[0] != "channels":
        return False
    rest = loc[2:]
    if rest in (("url",), ("secret",), ("smtp", "password")):
        return True
    return len(rest) == 2 and rest[0] == "headers" and isinstance(rest[1], str) and is_secret_header(rest[1])


def check_header(name: str, value: str) -> None:
    if name.lower() in FIXED_HEADERS:
        raise ValueError(f"header {name!r} is set by alertd or the HTTP client and cannot be configured")
    if not visible_ascii(value):
        raise ValueError(f"header {name!r}: the value must be printable ASCII (no control characters, no "
                         "non-ASCII text; percent-encode it if the receiver expects that)")


def check_ca_file(path: Path) -> Path:
    """A readable regular file of PEM certificates (a FIFO would block a send, a typo would fail every one)."""
    text = os.fspath(path)
    check_text(text, "ca_file")
    try:
        mode = os.stat(text).st_mode
    except OSError as exc:
        raise ValueError(f"ca_file {text}: {exc.strerror or 'cannot be read'}") from None
    if not stat.S_ISREG(mode):
        raise ValueError(f"ca_file {text} is not a regular file")
    try:
        ssl.create_default_context().load_verify_locations(cafile=text)
    except ssl.SSLError:  # an OSError too: first
        raise ValueError(f"ca_file {text} holds no PEM certificate") from None
    except OSError as exc:
        raise ValueError(f"ca_file {text}: {exc.strerror or 'cannot be read'}") from None
    return path
