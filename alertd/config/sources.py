"""Reading config files into plain data, keeping a way back to line numbers.

YAML is read through PyYAML's node graph with NO implicit typing: every scalar stays
the string that was written (so `due: 2021-05-21` and `due: "2021-05-21"` mean the
same, and `no` stays `no`), except that a plain empty/`~`/`null` is None.
Line numbers are found lazily (`Located.line_of`), because errors are rare and a
line map of a large file costs more memory than the data itself.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, ClassVar

import yaml

from alertd.config import fastyaml

__all__ = ["Loc", "Located", "SourceError", "find_config_files", "read_bytes", "read_source"]

SUFFIXES = (".yaml", ".yml", ".toml")
Loc = tuple[str | int, ...]

try:  # the C parser when libyaml is there; same nodes, same marks
    _YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the wheel
    _YamlLoader = yaml.SafeLoader


class _MarksLoader(_YamlLoader):
    """The same nodes and marks without implicit tag resolution, a third of compose's time."""

    yaml_implicit_resolvers: ClassVar[dict] = {}


_NULLS = {"", "~", "null", "Null", "NULL"}
_DOLLAR_ESCAPE = re.compile(r"\\[xuU]0*24")  # "\x24", "\u0024": a `$` written as an escape


class SourceError(Exception):
    """A file that cannot be read or parsed; carries the line when known."""

    def __init__(self, message: str, line: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.hint = hint


@dataclass
class Located:
    """A parsed file: its data, and a lookup from a data path to its line."""

    path: str
    data: Any
    _line_of: Callable[[Loc], int | None]
    # Lines of the entries of the top-level `deadlines` list, recorded while parsing
    # (cheap), so every deadline can name its line without a second parse.
    item_lines: dict[Loc, int] = field(default_factory=dict)
    refs_possible: bool = True  # False when no string in the file can hold a `${...}` reference

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest part of `loc` the file can place (1-based), or None."""
        if tuple(loc) in self.item_lines:
            return self.item_lines[tuple(loc)]
        try:
            return self._line_of(tuple(loc))
        except Exception:  # a locator must never turn one error into a crash
            return None


def find_config_files(directory: Path) -> list[Path]:
    """Every *.yaml, *.yml, *.toml below `directory`, recursively, in sorted path order."""
    found = [
        p for p in directory.rglob("*")
        if p.suffix in SUFFIXES and p.is_file() and not any(part.startswith(".") for part in
                                                             p.relative_to(directory).parts)
    ]
    return sorted(found)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror}") from None


def read_source(path: Path, display: str, raw: bytes | None = None, *, fast_yaml: bool = True) -> Located:
    """Read (unless `raw` is given) and parse one file; raises SourceError with a line where known.

    `fast_yaml=False` reads YAML with PyYAML only, never through fastyaml.py (same data and lines:
    the benchmark and the differential tests compare the two).
    """
    if raw is None:
        raw = read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"not a UTF-8 text file (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            line, "config files must be UTF-8 YAML or TOML",
        ) from None
    if "\x00" in text:
        raise SourceError("not a text file (contains NUL bytes)", text[: text.index("\x00")].count("\n") + 1)
    located = _read_toml(text, display) if path.suffix == ".toml" else _read_yaml(text, display, fast_yaml)
    located.refs_possible = "$" in text or _DOLLAR_ESCAPE.search(text) is not None
    return located


# --- YAML -----------------------------------------------------------------------------

def _read_yaml(text: str, display: str, fast_yaml: bool) -> Located:
    # exact or declined; declined files (and all errors) go below
    fast, data = fastyaml.load(text) if fast_yaml else (False, None)
    item_lines: dict[Loc, int] = _scan_deadline_lines(text, data) if fast else {}
    if not fast:
        try:
            node = yaml.compose(text, Loader=_YamlLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.context_mark and mark and exc.context_mark.line != mark.line:
                problem += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
            raise SourceError(f"invalid YAML: {problem}", mark.line + 1 if mark else None) from None
        except yaml.YAMLError as exc:
            raise SourceError(f"invalid YAML: {exc}") from None
        data = _to_data(node) if node is not None else None
        item_lines = _deadline_lines(node)
    composed: list[yaml.Node | None] = []  # composed on the first lookup, then kept for the next ones

    def line_of(loc: Loc) -> int | None:
        if not composed:
            # Lines need marks, not tags; tags matter only to find merge keys (`<<`).
            composed.append(yaml.compose(text, Loader=_YamlLoader if "<<" in text else _MarksLoader))
            item_lines.update(_deadline_lines(composed[0]))
        if tuple(loc) in item_lines:
            return item_lines[tuple(loc)]
        return _yaml_line(composed[0], loc)

    return Located(display, data, line_of, item_lines)


_ITEM = re.compile(r"\n([ \t]*)- ")


def _scan_deadline_lines(text: str, data: Any) -> dict[Loc, int]:
    """Lines of the top-level `deadlines` entries of a file the fast path read, by one scan.

    The fast path accepts only plain block YAML, so the entries are the `- ` lines after
    `deadlines:` with the indent of the first one. If their count disagrees with the data
    (a same-indent list further down, say), no lines are given: unknown, never wrong.
    """
    items = data.get("deadlines") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        return {}
    head = 0 if text.startswith("deadlines:") else text.find("\ndeadlines:") + 1
    if head == 0 and not text.startswith("deadlines:"):
        return {}
    starts: list[int] = []
    indent = None
    for m in _ITEM.finditer(text, head):
        if indent is None:
            indent = len(m.group(1))
        if len(m.group(1)) == indent:
            starts.append(m.start() + 1)
    if len(starts) != len(items):
        return {}
    lines, line, pos = {}, text.count("\n", 0, head) + 1, head
    for i, start in enumerate(starts):
        line += text.count("\n", pos, start)
        pos = start
        lines[("deadlines", i)] = line
    return lines


def _deadline_lines(node: yaml.Node | None) -> dict[Loc, int]:
    """Lines of the entries of a top-level `deadlines` list (each deadline names its line)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "deadlines" and isinstance(value, yaml.SequenceNode):
                return {("deadlines", i): item.start_mark.line + 1 for i, item in enumerate(value.value)}
    return {}


def _to_data(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        # A plain scalar's style is None from the pure-Python parser and "" from libyaml's.
        if not node.style and node.value in _NULLS and node.tag != "tag:yaml.org,2002:str":
            return None
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(item) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in _merged_pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError("a mapping key must be a plain value", key_node.start_mark.line + 1)
            key = key_node.value
            if key in out:
                raise SourceError(f"key {key!r} appears twice in the same mapping",
                                  key_node.start_mark.line + 1)
            out[key] = _to_data(value_node)
        return out
    raise SourceError(f"unsupported YAML node {node.tag}", node.start_mark.line + 1)


def _merged_pairs(node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    """Pairs of a mapping with YAML merge keys (`<<: *anchor`) applied; own keys win."""
    own = [(k, v) for k, v in node.value if not (k.tag == "tag:yaml.org,2002:merge" or
                                                   (isinstance(k, yaml.ScalarNode) and k.value == "<<"
                                                    and not k.style))]
    merges = [v for k, v in node.value if (k, v) not in own]
    names = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
    yield from own
    for merge in merges:
        sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
        for src in sources:
            if not isinstance(src, yaml.MappingNode):
                raise SourceError("a merge key (<<) must name a mapping", src.start_mark.line + 1)
            for k, v in _merged_pairs(src):
                if isinstance(k, yaml.ScalarNode) and k.value not in names:
                    names.add(k.value)
                    yield k, v


def _yaml_line(node: yaml.Node | None, loc: Loc) -> int | None:
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in _merged_pairs(node):
                if isinstance(k, yaml.ScalarNode) and k.value == part:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


# --- TOML -----------------------------------------------------------------------------

_TOML_LINE_COL = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_BARE = r"(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
_TOML_KEY = re.compile(rf"^\s*({_TOML_BARE}(?:\s*\.\s*{_TOML_BARE})*)\s*=")


def _read_toml(text: str, display: str) -> Located:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_LINE_COL.search(msg)
        line = int(m.group(1)) if m else None
        raise SourceError(f"invalid TOML: {_TOML_LINE_COL.sub('', msg).strip()}", line) from None
    data = _toml_plain(data)
    index: dict[Loc, int] | None = None

    def line_of(loc: Loc) -> int | None:
        nonlocal index
        if index is None:
            index = _toml_index(text)
        for n in range(len(loc), -1, -1):
            if loc[:n] in index:
                return index[loc[:n]]
        return None

    return Located(display, data, line_of)


def _toml_plain(value: Any) -> Any:
    """TOML's typed dates and numbers as the strings YAML would have given."""
    if isinstance(value, dict):
        return {k: _toml_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_toml_plain(v) for v in value]
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
