"""Keeping secret values out of every output: a `Redactor`, and the parts of URLs that are secrets.

Every value a `${NAME}` reference expanded to is a secret, and so is every channel URL,
signing key, password and header value (config collects them); a `Redactor` replaces
them in any text before it is shown: logs, errors, command output, the ledger.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["REDACTED", "Redactor", "url_secrets"]

REDACTED = "[redacted]"
_TOKEN_CHARS = 16  # a URL path segment this long may be a token (Slack's are 24): redact it alone
_MIN_SECRET = 3  # shorter values would redact ordinary words; check warns about them


class Redactor:
    """Replaces known secret values in text with `[redacted]`, longest first."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        self._pattern: re.Pattern[str] | None = None
        self.update(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        """Add secrets (a reload may bring new ones; old ones stay redacted)."""
        merged = {s for s in (*self._secrets, *secrets) if s and len(s) >= _MIN_SECRET}
        self._secrets = tuple(sorted(merged, key=len, reverse=True))
        self._pattern = re.compile("|".join(map(re.escape, self._secrets))) if self._secrets else None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def __contains__(self, text: str) -> bool:
        return self._pattern is not None and bool(self._pattern.search(text))

    def scrub(self, value: Any) -> Any:
        """Redact inside nested dicts, lists and strings (for structured log events)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.scrub(v) for v in value)
        return value


def url_secrets(url: str) -> set[str]:
    """The parts of a webhook URL that are credentials even when seen apart from the URL.

    A Slack URL's last path segment is its token; a receiver may echo the path, or a
    query `?token=...`, without the rest of the URL, which whole-URL redaction misses.
    """
    parts = urlsplit(url)
    found = {seg for seg in parts.path.split("/") if len(seg) >= _TOKEN_CHARS}
    found |= {unquote(seg) for seg in found}
    if parts.query:
        found.add(parts.query)
        found |= {kv.partition("=")[2] for kv in parts.query.split("&") if len(kv.partition("=")[2]) >= 8}
    if parts.password:
        found.add(parts.password)
    return found
