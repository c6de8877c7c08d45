"""TOML into plain data (tomllib), bounded, with a best-effort way back to line numbers.

tomllib is a recursive-descent parser: arrays or inline tables nested a few hundred deep raise
RecursionError, and a decimal number thousands of digits long makes `int()` raise (or, for
floats, take seconds and gigabytes). So before tomllib sees a file, a scan refuses long digit
runs and deep bracket nesting, each at its line; after, a walk refuses deep tables (dotted keys
and headers nest without brackets) and long values. Typed values become the strings YAML would
have given (`true`, `42`, `2021-05-21`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from alertd.config.limits import MAX_DEPTH, MAX_DIGITS, MAX_SCALAR
from alertd.config.problems import SourceError

__all__ = ["read_toml"]

Loc = tuple[str | int, ...]

_TOML_LINE_COL = re.compile(r"\(at line (\d+), column \d+\)")
# Possessive quantifiers (`*+`): a hostile line of spaces must not make a lookup backtrack for minutes.
_TOML_HEADER = re.compile(r"^\s*+(\[\[?)\s*+([^\]]*[^\]\s])\s*\]\]?\s*+(#.*)?$")
_TOML_BARE = r"(?:[A-Za-z0-9_-]++|\"[^\"]*+\"|'[^']*+')"
_TOML_KEY = re.compile(rf"^\s*+({_TOML_BARE}(?:\s*+\.\s*+{_TOML_BARE})*+)\s*+=")
_LONG_DIGITS = re.compile(rf"[0-9A-Fa-f_]{{{MAX_DIGITS + 1},}}")
# What can hold a bracket that is not structure: strings (four kinds) and comments.
_BRACKETS = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*+"|\'[^\'\n]*+\'|#[^\n]*+|[\[\]{}]')


class _TooDeep(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.path: list[str | int] = []


def read_toml(text: str) -> tuple[Any, Callable[[Loc], int | None]]:
    """(data, line lookup) of a TOML document; raises SourceError with the line where known."""
    _check_text(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_LINE_COL.search(msg)
        line = int(m.group(1)) if m else None
        raise SourceError(f"invalid TOML: {_TOML_LINE_COL.sub('', msg).strip()}", line) from None
    index: dict[Loc, int] | None = None

    def line_of(loc: Loc) -> int | None:
        nonlocal index
        if index is None:
            index = _toml_index(text)
        for n in range(len(loc), -1, -1):
            if loc[:n] in index:
                return index[loc[:n]]
        return None

    try:
        return _plain(data, 0), line_of
    except _TooDeep as exc:
        raise SourceError(str(exc), line_of(tuple(reversed(exc.path)))) from None


def _check_text(text: str) -> None:
    long = _LONG_DIGITS.search(text)
    if long is not None:
        raise SourceError(f"a number (or a run of digits) longer than {MAX_DIGITS:,} characters",
                          text.count("\n", 0, long.start()) + 1)
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for m in _BRACKETS.finditer(text):
        c = m.group()
        if c in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise SourceError(f"nested more than {MAX_DEPTH} levels deep", text.count("\n", 0, m.start()) + 1)
        elif c in ("]", "}"):
            depth = max(depth - 1, 0)


def _plain(value: Any, depth: int) -> Any:
    """TOML's typed dates and numbers as the strings YAML would have given; bounds checked."""
    if isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise _TooDeep(f"nested more than {MAX_DEPTH} levels deep")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        out: dict | list = {} if isinstance(value, dict) else []
        for k, v in items:
            if isinstance(k, str) and len(k) > MAX_SCALAR:
                raise _TooDeep(f"a key of {len(k):,} characters is longer than the limit ({MAX_SCALAR:,})")
            try:
                plain = _plain(v, depth + 1)
            except _TooDeep as exc:
                exc.path.append(k)
                raise
            if isinstance(out, dict):
                out[k] = plain
            else:
                out.append(plain)
        return out
    if isinstance(value, str):
        if len(value) > MAX_SCALAR:
            raise _TooDeep(f"a value of {len(value):,} characters is longer than the limit ({MAX_SCALAR:,})")
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return value


def _split_key(key: str) -> list[str]:
    parts = re.findall(r"\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+", key)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def _toml_index(text: str) -> dict[Loc, int]:
    """A best-effort map from data paths to lines for the usual TOML layouts."""
    index: dict[Loc, int] = {}
    counts: dict[Loc, int] = {}
    table: Loc = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TOML_HEADER.match(line)
        if header:
            path: Loc = tuple(_split_key(header.group(2)))
            if header.group(1) == "[[":
                counts[path] = counts.get(path, -1) + 1
                table = (*path, counts[path])
            else:
                table = path
            index.setdefault(table, number)
            continue
        key = _TOML_KEY.match(line)
        if key:
            index.setdefault((*table, *_split_key(key.group(1))), number)
    return index
