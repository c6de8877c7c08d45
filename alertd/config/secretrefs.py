"""`${NAME}` references in config strings.

`${NAME}` expands to the environment variable NAME, else to the contents of the file
NAME in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`), trailing newline
stripped. `$${` is a literal `${`. A value expanded into a secret field is collected as a
secret, for the redactor (alertd/redact.py). Messages name a reference as `${NAME}`, never by
its value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["SecretLookupError", "environ", "expand", "expand_tree"]

_REF = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
                loc: tuple = (), *, secret: Callable[[tuple], bool] = lambda loc: True) -> Any:
    """Expand references in every string of a parsed file; collect (loc, message) errors.

    The values references expand to are added to `found` where `secret(loc)` says the field
    is a secret one (a URL, a key, a password, a credential header); a reference in a title or
    an id is only text, and redacting its value everywhere would mangle ordinary output.
    """
    if isinstance(value, str):
        values: set[str] = set()
        try:
            out = expand(value, env, values)
        except SecretLookupError as exc:
            errors.append((loc, str(exc)))
            return value
        if values and secret(loc):
            found |= values
        return out
    if isinstance(value, dict):
        return {k: expand_tree(v, env, found, errors, (*loc, k), secret=secret) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_tree(v, env, found, errors, (*loc, i), secret=secret) for i, v in enumerate(value)]
    return value


def environ() -> dict[str, str]:
    """A snapshot of the process environment (read once per load, passed down)."""
    return dict(os.environ)
