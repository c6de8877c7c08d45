"""Reading config files into plain data, keeping a way back to line numbers.

YAML is read through PyYAML's event stream (yamlread.py) with NO implicit typing: every
scalar stays the string that was written (so `due: 2021-05-21` and `due: "2021-05-21"` mean
the same, and `no` stays `no`), except that a plain empty/`~`/`null` is None.
Line numbers are found lazily (`Located.line_of`), because errors are rare and a
line map of a large file costs more memory than the data itself.

Every read is bounded (limits.py): file size, nesting, value length, aliases, digits; a file
over a bound is a `SourceError` with its line, never an exception from deep in a parser.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alertd.config import fastyaml
from alertd.config.limits import MAX_FILE_BYTES
from alertd.config.problems import Problem, SourceError
from alertd.config.tomlread import read_toml
from alertd.config.yamlread import line_in, read_yaml_events

__all__ = ["Loc", "Located", "SourceError", "find_config_files", "read_bytes", "read_source", "scan_config_dir"]

SUFFIXES = (".yaml", ".yml", ".toml")
Loc = tuple[str | int, ...]

_DOLLAR_ESCAPE = re.compile(r"\\[xuU]0*24")  # "\x24", "\u0024": a `$` written as an escape


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
    return scan_config_dir(directory)[0]


def scan_config_dir(directory: Path) -> tuple[list[Path], list[Problem]]:
    """The config files below `directory` (sorted), and a problem for each entry that cannot be read.

    Names starting with `.` are skipped (an editor's swap file, `.git`, Kubernetes' `..data`):
    that is the way to keep a file in the directory unread. Files not named *.yaml, *.yml or
    *.toml are not config files. Symbolic links to files are followed. Everything else that
    would be silently lost is an error naming its path: a directory that cannot be listed, a
    link whose target is missing or that loops, a link to a directory (not followed: a loop
    could never end), a config name that is not a regular file (a FIFO would block the read).
    """
    found: list[Path] = []
    problems: list[Problem] = []
    stack = [directory]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as it:
                entries = list(it)
        except OSError as exc:
            problems.append(Problem(str(top), None, f"cannot read directory: {_reason(exc)}",
                                    "fix its permissions, or name it with a leading '.' to leave it out"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            problem = _entry_problem(entry, path, stack, found)
            if problem is not None:
                problems.append(Problem(str(path), None, problem,
                                        "fix or remove it, or name it with a leading '.' to leave it out"))
    return sorted(found), sorted(problems, key=lambda p: p.path)


def _entry_problem(entry: os.DirEntry[str], path: Path, stack: list[Path], found: list[Path]) -> str | None:
    config_name = path.suffix in SUFFIXES
    try:
        if entry.is_symlink():
            try:
                target = os.stat(entry.path)  # follows the link
            except OSError as exc:
                if not config_name:
                    return None
                if exc.errno == errno.ELOOP:
                    return "symbolic link loop"
                return f"broken symbolic link ({_reason(exc)})"
            if stat.S_ISDIR(target.st_mode):
                return "symbolic link to a directory: alertd does not follow these; link the files instead"
        elif entry.is_dir():
            stack.append(path)
            return None
        if not config_name:
            return None
        mode = entry.stat().st_mode
    except OSError as exc:
        return f"cannot read: {_reason(exc)}" if config_name else None
    if stat.S_ISDIR(mode):  # pragma: no cover - a plain directory was taken above
        return None
    if not stat.S_ISREG(mode):
        return "not a regular file"
    found.append(path)
    return None


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def read_bytes(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES; raises SourceError otherwise."""
    try:
        # O_NONBLOCK: a FIFO put in place of the file must not block the open (regular files ignore it)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SourceError(f"cannot read file: {_reason(exc)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SourceError("not a regular file")
        chunks = []
        left = MAX_FILE_BYTES + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise SourceError(f"cannot read file: {_reason(exc)}") from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > MAX_FILE_BYTES:
        line = raw.count(b"\n", 0, MAX_FILE_BYTES) + 1
        raise SourceError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB, the limit for one "
                          "config file (this line is past it)", line, "split the deadlines into several files")
    return raw


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
    try:
        located = _read_toml(text, display) if path.suffix == ".toml" else _read_yaml(text, display, fast_yaml)
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        # A safety net: the bounds above make these unreachable for every input we know of; if
        # one is found, the file is refused (and a daemon's reload with it), never the process.
        raise SourceError(f"cannot be read ({type(exc).__name__}): the file may be nested too deeply "
                          "or too large") from None
    located.refs_possible = "$" in text or _DOLLAR_ESCAPE.search(text) is not None
    return located


# --- YAML -----------------------------------------------------------------------------

def _read_yaml(text: str, display: str, fast_yaml: bool) -> Located:
    # exact or declined; declined files (and all errors) go below
    fast, data = fastyaml.load(text) if fast_yaml else (False, None)
    item_lines: dict[Loc, int] = _scan_deadline_lines(text, data) if fast else {}
    if not fast:
        data, item_lines, _ = _yaml_events(text)
    tree: list[Any] = []  # the line tree, made on the first lookup (an error), then kept for the next ones

    def line_of(loc: Loc) -> int | None:
        if not tree:
            tree.append(_yaml_events(text, lines=True)[2])
        return line_in(tree[0], loc)

    return Located(display, data, line_of, item_lines)


def _yaml_events(text: str, *, lines: bool = False) -> tuple[Any, dict[Loc, int], Any]:
    try:
        return read_yaml_events(text, lines=lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and mark and exc.context_mark.line != mark.line:
            problem += f" ({exc.context} that starts at line {exc.context_mark.line + 1})"
        raise SourceError(f"invalid YAML: {problem}", mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: no mark, a position
        # libyaml's position is a byte offset into the UTF-8 text
        line = text.encode()[: exc.position].count(b"\n") + 1 if isinstance(exc.position, int) else None
        raise SourceError(f"invalid YAML: {exc.reason} (character U+{exc.character:04X})"
                          if isinstance(exc.character, int) else f"invalid YAML: {exc.reason}", line) from None
    except yaml.YAMLError as exc:
        raise SourceError(f"invalid YAML: {' '.join(str(exc).split())}") from None


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


def _read_toml(text: str, display: str) -> Located:
    data, line_of = read_toml(text)
    return Located(display, data, line_of)
