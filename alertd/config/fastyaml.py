"""A fast path for reading YAML config files, exact or not taken at all.

PyYAML's node graph (sources.py) keeps every scalar as written and a line mark on
every node, but composing 20 MB of deadlines takes seconds. `yaml-rs` (Rust) parses
the same text ten times faster, but types plain scalars by the YAML 1.2 core schema
(`0` → 0, `true` → True, `0x1F` → 31, `1_0` → 10) and keeps no marks.

`load(text)` returns (True, data) with exactly the data sources.py's PyYAML path would
return, or (False, None) when it cannot PROVE that; the caller then takes the PyYAML path.
Error lines are unchanged either way: a file PyYAML rejects is rejected by yaml-rs too
or declined here (the tests fuzz this), and a config error in a fast-read file gets its
line from `Located.line_of`, which composes that file with PyYAML when first asked.

Proof, per file:
- features whose meaning the two parsers (YAML 1.1 and 1.2) might not share send the
  file to PyYAML: tags (`!`), anchors and aliases (`&`, `*`), merge keys (`<<`),
  directives, several documents, tabs, odd characters, multi-line or nested flow
  collections, indicators starting a flow scalar; so does every yaml-rs error, every
  non-string key, and every float or null value. So do deep block indentation and long digit
  runs, which yaml-rs handles by recursion (a stack overflow kills the process) and big-int
  arithmetic.
  (Nulls: sources.py's PyYAML path reads a plain empty value, `~`, `null`, `Null` or
  `NULL` as None, and yaml-rs reads the same spellings as None; but a None here is not
  checked against that list, so a file whose yaml-rs reading holds a null is declined
  (`_text`) and read by PyYAML. Config files rarely hold nulls: it only costs speed.)
- a typed int or bool is turned back into its text. That is exact only when it was
  written canonically (`0`, `42`, `-7`, `true`, `false`): str() gives the text back.
  So every plain token in the file that yaml-rs would type is checked to be canonical;
  one that is not (`007`, `+1`, `1_0`, `True`, `0x1F`) sends the file to PyYAML. The
  token scan over-approximates, so it can only cost speed, never change a value.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from alertd.config.limits import MAX_SCALAR

__all__ = ["load"]

try:  # optional at import: without it every file takes the PyYAML path
    import yaml_rs
except ImportError:  # pragma: no cover - yaml-rs is a dependency; kept for partial installs
    yaml_rs = None

# Anything whose meaning could differ between the parsers, where YAML would read it as
# syntax (a tag, anchor or alias after a separator; a merge key; a directive; an indicator
# yaml-rs lets start a plain scalar in a flow collection). Matches inside quoted text or
# comments only cost a fallback.
_UNSURE = re.compile(r"(?:^|[\s\[{,:])[!&*?]|<<|^%|[\[{](?:[^\]}\n]*?(?:,|:[ \t]))?[ \t]*[|>@`%:?]",
                     re.MULTILINE)
_DEEP_COLUMNS = 25
_DEEP_LINE = re.compile(rf"\n[ -]{{{_DEEP_COLUMNS}}}")  # a literal first character: a fast scan
_DEEP_START = re.compile(rf"[ -]{{{_DEEP_COLUMNS}}}")
_DIGITS_AS_ZERO = str.maketrans("123456789", "000000000")
_LONG_DIGITS = "0" * 19  # more digits in a row than fit in 64 bits (found as zeros after the translation)
_ODD_ASCII = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ODD_CHAR = re.compile("[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_UNSURE_CHARS = ("!", "&", "*", "?", "<<", "%", "|", ">", "@", "`", "[:", "{:", ",:")


class _KeepOnly(dict[int, str]):
    """A str.translate table that deletes every character it does not list."""

    def __missing__(self, key: int) -> None:
        return None


_BRACKETS_ONLY = _KeepOnly({ord(c): c for c in "[]{}\n"})  # ASCII text: translate caches the lookups
_NOT_BRACKET = re.compile(r"[^\[\]{}\n]+")
_FLAT_FLOW = re.compile(r"(?:\[\]|\{\}|\n)*")
_DOC_MARK = re.compile(r"^(?:---|\.\.\.)(?=\s|$)", re.MULTILINE)
_COMMENTS_ONLY = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\n)*")

# Every plain token yaml-rs might type: ints (decimal, 0x, 0o, 0b, signs, underscores),
# floats (dots, exponents, .inf, .nan), bools and nulls in any case. Delimited as YAML
# delimits plain scalars: after start of line, blank, `[`, `{`, `,` or a JSON-like key's
# `":`; before end of line, blank, `,`, `]`, `}`, `#` or `: `. A superset of what matters.
_TOKEN = re.compile(
    r"(?:(?<![^\s\[{,])|(?<=[\"'\]}]:))"
    r"([-+_.0-9a-fA-FxXoObB]+|[-+]?\.[iInN][nNaA][fFnN]|[tT][rR][uU][eE]|[fF][aA][lL][sS][eE]"
    r"|[nN][uU][lL][lL]|~)"
    r"(?=\s|$|[,\]}#]|:(?:\s|$))",
    re.MULTILINE,
)
_CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]*")
_NO_DIGIT = re.compile(r"[-+_.a-fA-FxXoObB]+")


class _Unsure(Exception):
    """The fast result cannot be proven equal to PyYAML's: take the PyYAML path."""


def load(text: str) -> tuple[bool, Any]:
    """(True, data) when yaml-rs's reading is provably PyYAML's; (False, None) otherwise."""
    if (yaml_rs is None or not _flat_flow(text) or _unsure_syntax(text) or _too_deep(text)
            or not _single_document(text)):
        return False, None
    try:
        raw = yaml_rs.loads(text, parse_datetime=False)
    except Exception:  # any yaml-rs error: PyYAML decides, and names the line
        return False, None
    typed: list[bool] = []
    try:
        data = _plain(raw, typed)
    except _Unsure:
        return False, None
    if typed and not _tokens_canonical(text):
        return False, None
    return True, data


def _unsure_syntax(text: str) -> bool:
    # Characters YAML 1.1 (PyYAML) and 1.2 (yaml-rs) read differently: controls PyYAML rejects,
    # NEL and U+2028/9 that only 1.1 calls line breaks, a BOM that only PyYAML strips; tabs,
    # which the two accept in different places.
    if "\t" in text or (_ODD_CHAR.search(text) if not text.isascii() else _ODD_ASCII.search(text)):
        return True
    # `in` is a fast scan; the regex (slow on megabytes) runs only when a character is there
    return any(c in text for c in _UNSURE_CHARS) and _UNSURE.search(text) is not None


def _too_deep(text: str) -> bool:
    """True when the file may nest deeply or hold a long number: yaml-rs recurses per level (a
    file nested 100,000 deep overflows its stack and kills the process) and turns long digit
    runs into big ints at quadratic cost. PyYAML's path reads these with bounds and lines.

    Flow collections reaching here are flat, so only block nesting is left; each block level
    below the next starts at a greater column, so a file whose lines all start with fewer than
    `_DEEP_COLUMNS` spaces and compact `- ` is at most ~2 x that deep (well under MAX_DEPTH).
    """
    return (_DEEP_START.match(text) is not None or _DEEP_LINE.search(text) is not None
            or _LONG_DIGITS in text.translate(_DIGITS_AS_ZERO))


def _flat_flow(text: str) -> bool:
    """True when every flow collection (`[...]`, `{...}`) opens and closes on one line, unnested.

    Multi-line and nested flow collections are where the parsers' indentation rules differ.
    """
    brackets = text.translate(_BRACKETS_ONLY) if text.isascii() else _NOT_BRACKET.sub("", text)
    return _FLAT_FLOW.fullmatch(brackets) is not None


def _single_document(text: str) -> bool:
    if "---" not in text and "..." not in text:
        return True
    marks = list(_DOC_MARK.finditer(text))
    if not marks:
        return True
    if len(marks) > 1 or marks[0].group() != "---":
        return False
    head = text[: marks[0].start()]
    return _COMMENTS_ONLY.fullmatch(head) is not None


def _plain(value: Any, typed: list[bool]) -> Any:
    """Typed scalars back to text (canonical spellings; checked by the caller), in place.

    yaml-rs hands back fresh containers that nothing else holds (aliases never get here),
    so only the few typed scalars are replaced, and nothing is copied.
    """
    kind = type(value)
    if kind is dict:
        _plain_dict(value, typed)
    elif kind is list:
        _plain_list(value, typed)
    elif kind is not str:
        return _text(value, typed)
    elif len(value) > MAX_SCALAR:
        raise _Unsure
    return value


def _plain_dict(mapping: dict[Any, Any], typed: list[bool]) -> None:
    for key, value in mapping.items():
        if type(key) is not str or len(key) > MAX_SCALAR:
            raise _Unsure
        kind = type(value)
        if kind is str:
            if len(value) > MAX_SCALAR:
                raise _Unsure  # the PyYAML path refuses it, with its line
            continue
        if kind is dict:
            _plain_dict(value, typed)
        elif kind is list:
            _plain_list(value, typed)
        else:
            mapping[key] = _text(value, typed)  # replaces a value: the dict's size does not change


def _plain_list(items: list[Any], typed: list[bool]) -> None:
    for i, value in enumerate(items):
        kind = type(value)
        if kind is str:
            if len(value) > MAX_SCALAR:
                raise _Unsure
            continue
        if kind is dict:
            _plain_dict(value, typed)
        elif kind is list:
            _plain_list(value, typed)
        else:
            items[i] = _text(value, typed)


def _text(value: Any, typed: list[bool]) -> str:
    kind = type(value)
    if kind is bool:
        typed.append(True)
        return "true" if value else "false"
    if kind is int:
        typed.append(True)
        return str(value)
    raise _Unsure  # a float loses its spelling (1.10 or 1.1); a null is declined too (module docstring)


def _tokens_canonical(text: str) -> bool:
    # Tokens never span blanks, so scanning each distinct blank-separated chunk once (joined by
    # newlines, which delimit exactly as the blanks did) finds the same tokens in far less text.
    chunks = "\n".join(set(text.split()))
    return all(_token_ok(tok) for tok in set(_TOKEN.findall(chunks)))


@lru_cache(maxsize=4096)
def _token_ok(token: str) -> bool:
    """True unless yaml-rs types plain `token` as an int or bool that str() would not spell back.

    A token it reads as null or a float needs no check: such a value makes `load` decline.
    """
    if _CANONICAL_INT.fullmatch(token) or token in ("true", "false"):
        return True
    if _NO_DIGIT.fullmatch(token):
        return True  # `-`, `_`, `bed`, `cafe`: every number has a digit (.inf, .nan, bools are words)
    try:
        value = yaml_rs.loads(f"- {token}\n", parse_datetime=False)[0]
    except Exception:
        return False
    if value is None or type(value) is float:
        return True
    return type(value) is str and value == token
