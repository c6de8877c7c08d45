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
_LONG_DIGITS = re.compile(rf"(?<![0-9A-Fa-f_])[0-9A-Fa-f_]{{{MAX_DIGITS + 1}}}")  # (from a run's start only)
# What can hold a bracket or a dot that is not structure: strings (four kinds) and comments.
_NOT_CODE = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*+"|\'[^\'\n]*+\'|#[^\n]*+')
_BRACKET = re.compile(r"[\[\]{}]")
# A key (or header) of more than MAX_DEPTH dotted parts, once strings are replaced by `""`.
_PART = r'(?:[A-Za-z0-9_-]++|"")'
_LONG_KEY = re.compile(rf"(?<![A-Za-z0-9_-]){_PART}(?:[ \t]*+\.[ \t]*+{_PART}){{{MAX_DEPTH}}}")


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
    """Refuse, at their line, what tomllib handles by recursion or in quadratic time: long digit runs,
    brackets nested deeper than MAX_DEPTH, and dotted keys (or headers) of more than MAX_DEPTH parts
    (tomllib builds a key part by part into a tuple: 40,000 parts took 40 s)."""
    long = _LONG_DIGITS.search(text)
    if long is not None:
        raise SourceError(f"a number (or a run of digits) longer than {MAX_DIGITS:,} characters",
                          text.count("\n", 0, long.start()) + 1)
    if text.count("[") + text.count("{") <= MAX_DEPTH and text.count(".") <= MAX_DEPTH:
        return
    code = _NOT_CODE.sub('""', text)  # structure only; lines shift where a string spanned several
    if _LONG_KEY.search(code):
        raise SourceError(f"a key of more than {MAX_DEPTH} dotted parts", _line_in_text(text, _LONG_KEY))
    depth = 0
    for m in _BRACKET.finditer(code):
        if m.group() in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise SourceError(f"nested more than {MAX_DEPTH} levels deep", _line_in_text(text, None))
        else:
            depth = max(depth - 1, 0)


def _line_in_text(text: str, pattern: re.Pattern[str] | None) -> int:
    """The line of the text where the long key (`pattern`) or the too-deep bracket is: the same scan
    once more, token by token, counting lines (only on the way to an error)."""
    depth, line, pos = 0, 1, 0
    for m in re.finditer(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*+"|\'[^\'\n]*+\'|#[^\n]*+|[\[\]{}]',
                         text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        c = m.group()
        if pattern is not None and c[:1] not in "\"'#[]{}":
            continue
        if pattern is None and c in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif pattern is None and c in ("]", "}"):
            depth = max(depth - 1, 0)
    if pattern is not None:
        found = pattern.search(_NOT_CODE.sub(lambda m: re.sub(r"[^\n]", "", m.group()) + '""', text))
        if found is not None:
            return text.count("\n", 0, found.start()) + 1  # wrong only where a string spans lines before it
    return line


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
            for n in range(1, len(table) + 1):  # `[[a.b]]` also places `a` and `a.b`
                index.setdefault(table[:n], number)
            continue
        key = _TOML_KEY.match(line)
        if key:
            full = (*table, *_split_key(key.group(1)))
            for n in range(len(table) + 1, len(full) + 1):  # `a.b.c = 1` also places `a` and `a.b`
                index.setdefault(full[:n], number)
    return index
