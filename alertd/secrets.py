"""`${NAME}` references in config strings, and keeping their values out of every output.

`${NAME}` expands to the environment variable NAME, else to the contents of the file
NAME in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`), trailing newline
stripped. `$${` is a literal `${`. Every expanded value is a secret, and so is every
channel URL, signing key, password and header value: a `Redactor` replaces them in
any text before it is shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["REDACTED", "Redactor", "SecretLookupError", "expand", "url_secrets"]

REDACTED = "[redacted]"
_REF = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN_CHARS = 16  # a URL path segment this long may be a token (Slack's are 24): redact it alone
_MIN_SECRET = 3  # shorter values would redact ordinary words; check warns about them


class SecretLookupError(ValueError):
    """A `${NAME}` that names no environment variable and no credential file."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def expand(text: str, env: Mapping[str, str], found: set[str]) -> str:
    """Expand the references in `text`; add every expanded value to `found`.

    Raises SecretLookupError naming the first reference that cannot be resolved.
    """
    if "$" not in text:
        return text

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        name = m.group(1)
        if not _NAME.fullmatch(name):
            raise SecretLookupError(name, f"${{{name}}} is not a valid reference: use ${{NAME}} with "
                                          "letters, digits and _")
        value = _lookup(name, env)
        found.add(value)
        return value

    return _REF.sub(one, text)


def _lookup(name: str, env: Mapping[str, str]) -> str:
    if name in env:
        return env[name]
    creds = env.get("CREDENTIALS_DIRECTORY")
    if creds:
        path = Path(creds) / name
        try:
            return path.read_text(encoding="utf-8").removesuffix("\n")
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SecretLookupError(name, f"${{{name}}}: cannot read credential {path}: "
                                          f"{exc.strerror}") from None
    where = f" and no file {name} in $CREDENTIALS_DIRECTORY" if creds else (
        " and $CREDENTIALS_DIRECTORY is not set")
    raise SecretLookupError(name, f"${{{name}}} is not set: no environment variable {name}{where}")


def expand_tree(value: Any, env: Mapping[str, str], found: set[str], errors: list[tuple[tuple, str]],
                loc: tuple = ()) -> Any:
    """Expand references in every string of a parsed file; collect (loc, message) errors."""
    if isinstance(value, str):
        try:
            return expand(value, env, found)
        except SecretLookupError as exc:
            errors.append((loc, str(exc)))
            return value
    if isinstance(value, dict):
        return {k: expand_tree(v, env, found, errors, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_tree(v, env, found, errors, (*loc, i)) for i, v in enumerate(value)]
    return value


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


def environ() -> dict[str, str]:
    """A snapshot of the process environment (read once per load, passed down)."""
    return dict(os.environ)


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
