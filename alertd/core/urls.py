"""URLs and host names alertd connects to or links to: pure checks that raise ValueError.

The channels' URLs (config) and the public base URL of the action links (settings) pass the same
checks: a real host and port, no control characters, no `user:password@`, and https unless the
host is loopback. No message holds the URL: a channel's URL may be its credential.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

__all__ = ["check_host", "check_text", "check_url", "is_loopback", "visible_ascii"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


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
