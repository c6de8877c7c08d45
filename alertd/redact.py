"""Keeping secret values out of every output: a `Redactor`, and the parts of URLs that are secrets.

The secrets are the values of secret fields (channel URLs and their tokens, signing keys, SMTP
passwords, credential headers) and what `${NAME}` references expanded to in those fields (config
collects them); a `Redactor` replaces them in any text before it is shown: logs, errors, command
output, the ledger. A receiver may echo a secret in the form it took on the wire, so each one is
also redacted percent-encoded, JSON-escaped and base64-encoded.

A secret shorter than `_ANYWHERE` characters is redacted only where it stands as a word of its
own: a password `SMTP` must not turn `SMTP_PASSWORD` into `[redacted]_PASSWORD`. Longer ones are
redacted wherever they appear (a token inside a longer string is still a token).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

__all__ = ["REDACTED", "Redactor", "url_secrets", "wire_forms"]

REDACTED = "[redacted]"
_TOKEN_CHARS = 16  # a URL path segment this long may be a token (Slack's are 24): redact it alone
_MIN_SECRET = 3  # shorter values would redact ordinary words; check warns about them
_ANYWHERE = 8  # secrets at least this long are redacted inside longer words too
_WORD = "A-Za-z0-9_"
_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def wire_forms(secret: str) -> set[str]:
    """`secret` and the forms it takes in URLs, JSON and HTTP/SMTP authentication."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret),
             json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             base64.b64encode(secret.encode()).decode(), base64.urlsafe_b64encode(secret.encode()).decode()}
    forms |= {_HEX_ESCAPE.sub(lambda m: m.group().lower(), f) for f in forms if "%" in f}  # %c3%a9 as well
    forms |= {f.rstrip("=") for f in forms if f.endswith("=")}  # unpadded base64
    return forms


class Redactor:
    """Replaces known secret values (in each of their wire forms) with `[redacted]`, longest first."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        self._pattern: re.Pattern[str] | None = None
        self.update(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        """Add secrets (a reload may bring new ones; old ones stay redacted)."""
        merged = {s for s in (*self._secrets, *secrets) if s and len(s) >= _MIN_SECRET}
        self._secrets = tuple(sorted(merged))
        forms = {f for s in merged for f in wire_forms(s) if len(f) >= _MIN_SECRET}
        anywhere = [f for f in forms if len(f) >= _ANYWHERE]
        words = [f for f in forms if len(f) < _ANYWHERE]
        parts = [_trie(anywhere)] if anywhere else []
        if words:
            parts.append(f"(?<![{_WORD}]){_trie(words)}(?![{_WORD}])")
        self._pattern = re.compile("|".join(parts)) if parts else None

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


def _trie(words: Iterable[str]) -> str:
    """One regex matching any of `words`, longest first, as a trie: `sub` over megabytes of output
    then costs about the same for a hundred secrets (ten forms each) as for one, where a plain
    alternation tries every word at every position."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = True  # a word ends here

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body  # longer words first: the optional part is greedy

    return "(?:" + emit(root) + ")"


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
