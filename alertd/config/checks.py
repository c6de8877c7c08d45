"""Checks for channel settings that could never be delivered, or would be delivered unsafely.

`alertd check` refuses these with the file and line instead of the daemon retrying them as
temporary failures: a URL with credentials, a port out of range, a host that is not a host
name or IP address, control characters (a CR/LF inside a `${VAR}`), headers that would break
HTTP framing, non-ASCII header values, a CA file that is not a readable certificate file,
cleartext where it is not loopback. Every function raises ValueError with the message the
schema shows; none of them puts a secret into it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import stat
from pathlib import Path
from urllib.parse import urlsplit

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
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


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


def check_text(value: str, what: str) -> str:
    """No control characters (CR, LF, NUL, ESC, ...): they have no place in a setting."""
    bad = _CONTROL.search(value)
    if bad is not None:
        raise ValueError(f"{what} contains a control character (U+{ord(bad.group()):04X}); "
                         "a credential file with a trailing CR/LF is the usual cause")
    return value


def visible_ascii(value: str) -> bool:
    return value.isascii() and _CONTROL.search(value) is None


def check_host(host: str, what: str = "host") -> str:
    """A DNS name (IDNA allowed), an IPv4 address or an IPv6 address; raises ValueError."""
    if not host.strip():
        raise ValueError(f"{what} is empty")
    check_text(host, what)
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{what} is not a valid IPv6 address") from None
        return host
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise ValueError(f"{what} is not a valid host name") from None
    name = ascii_host.removesuffix(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValueError(f"{what} is not a valid host name")
    return host


def is_loopback(host: str) -> bool:
    if host.lower().removesuffix(".") in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, https_unless_loopback: bool = False) -> str:
    """An http(s) URL alertd can post to. Messages name the problem, never the URL (it may be a secret)."""
    check_text(url, "url")
    if any(c.isspace() for c in url):
        raise ValueError("url contains a space; percent-encode it (%20)")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError("url is not a valid URL (an unclosed [ in the host?)") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"url must be an http:// or https:// URL (got scheme {parts.scheme!r})")
    netloc = parts.netloc
    if "@" in netloc:
        raise ValueError("url must not carry a user name or password (user:password@...): put a credential in a "
                         "header, e.g. Authorization")
    host = parts.hostname or ""
    if netloc.startswith("[") and "]" in netloc:
        host = netloc[1:netloc.index("]")]
        if host[:1] in ("v", "V"):
            raise ValueError("url: an IPvFuture address ([v1.x]) cannot be connected to")
    if not host:
        raise ValueError("url must have a host")
    check_host(host, "url: the host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("url: the port is not a number from 1 to 65535") from None
    if port == 0:
        raise ValueError("url: the port is not a number from 1 to 65535")
    if https_unless_loopback and parts.scheme == "http" and not is_loopback(host):
        raise ValueError("url must be https:// (plain http:// would send the credential in cleartext; it is "
                         "allowed only to a loopback address)")
    return url


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
