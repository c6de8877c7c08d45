"""YAML into plain data through PyYAML's event stream: no recursion, every bound checked on the way.

`yaml.compose` builds a node graph recursively (a file nested a thousand levels deep raises
RecursionError) and shares aliased nodes, which a later walk expands (a few hundred bytes of
aliases become billions of values). Here the events of libyaml's parser (a state machine with
its own stacks) are folded into the data with an explicit stack, so:

- nesting deeper than `MAX_DEPTH`, a value longer than `MAX_SCALAR`, an alias that refers to
  the node it is in (a cycle), and aliases that would expand the file beyond `MAX_ALIAS_*`
  are errors with the line where they happen;
- an aliased value is the same object each time it is used (nothing is copied), so the
  expansion bound, not the structure, decides what later passes may walk.

The data is what PyYAML's reading with no implicit typing gives: every scalar is the string as
written, except a plain empty/`~`/`null` that is None; merge keys (`<<`) applied, own keys
winning; duplicate keys, non-scalar keys, undefined or duplicate anchors and a second document
are errors (tests/config compare this with a `yaml.compose` reading over many files; the one
difference: a non-scalar key inside a merge source is an error here, not silently skipped).

With `lines=True` the same pass also returns a tree of line numbers shaped like the data
(`line_of` walks it): far less time and memory than a composed node graph, and only built when
an error needs a line.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from alertd.config.limits import MAX_ALIAS_BASE, MAX_ALIAS_RATIO, MAX_DEPTH, MAX_SCALAR
from alertd.config.problems import SourceError

__all__ = ["Lines", "line_in", "read_yaml_events"]

try:  # the C parser when libyaml is there; the same events and marks
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the wheel
    _Loader = yaml.SafeLoader

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NO_KEY = object()

# A frame is one open collection, as a list for speed (the loop runs once per event):
_MAP, _ITEMS, _KEY, _KEY_LINE, _MERGE, _MERGES, _SIZE, _ANCHOR, _LINES, _DEADLINES, _START = range(11)

# Line trees: a mapping's is {key: (key line, child tree)}, a list's [(item line, child tree)], a scalar's None.
Lines = dict | list | None


def read_yaml_events(text: str, *, lines: bool = False) -> tuple[Any, dict[tuple, int], tuple[int, Lines] | None]:
    """(data, lines of the top-level `deadlines` entries, (root line, line tree)) of one YAML document.

    The line tree is None unless `lines`; the root line is that of the document's first value.

    Raises yaml.YAMLError for what libyaml's parser rejects, SourceError (with the line) for the rest.
    """
    loader = _Loader(text)
    try:
        return _fold(loader.get_event, lines)
    finally:
        loader.dispose()


def _fold(get: Any, want_lines: bool) -> tuple[Any, dict[tuple, int], tuple[int, Lines] | None]:  # noqa: PLR0915 - one loop over events reads best whole
    get()  # StreamStartEvent
    ev = get()
    if type(ev) is StreamEndEvent:
        return None, {}, None
    stack: list[list[Any]] = []
    # name -> (value, size, raw scalar or None, lines, is a merge key `<<`, line where it starts)
    anchors: dict[str, tuple[Any, int, str | None, Lines, bool, int]] = {}
    open_anchors: set[str] = set()
    item_lines: dict[tuple, int] = {}
    written = 0  # values as written in the file
    aliased = 0  # values that aliases add
    done = False
    result: Any = None
    result_lines: tuple[int, Lines] | None = None
    while not done:
        ev = get()
        kind = type(ev)
        line = ev.start_mark.line + 1
        raw: str | None = None
        child_lines: Lines = None
        merge_key = False
        if kind is ScalarEvent:
            raw = ev.value
            if len(raw) > MAX_SCALAR:
                raise SourceError(f"a value of {len(raw):,} characters is longer than the limit "
                                     f"({MAX_SCALAR:,})", line)
            value = None if (not ev.style and raw in _NULLS and ev.tag != _STR_TAG) else raw
            size = 1
            written += 1
            merge_key = ev.tag == _MERGE_TAG or (raw == "<<" and not ev.style)
            if ev.anchor is not None:
                _define(anchors, ev.anchor, (value, 1, raw, None, merge_key, line), line)
        elif kind is AliasEvent:
            name = ev.anchor
            if name in open_anchors:
                raise SourceError(f"alias *{name} refers to a node that contains it (a cycle)", line)
            found = anchors.get(name)
            if found is None:
                raise SourceError(f"invalid YAML: found undefined alias {name!r}", line)
            aliased += found[1]
            written += 1
            if aliased > MAX_ALIAS_BASE + MAX_ALIAS_RATIO * written:
                raise SourceError(f"aliases expand this file beyond the limit ({aliased:,} values from aliases; "
                                  f"at most {MAX_ALIAS_RATIO} per value written, plus {MAX_ALIAS_BASE:,})", line)
            # an alias stands where its anchor's node starts (as in a composed node graph)
            value, size, raw, child_lines, merge_key, line = found
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if len(stack) >= MAX_DEPTH:
                raise SourceError(f"nested more than {MAX_DEPTH} levels deep", line)
            top = stack[-1] if stack else None
            if top is not None and top[_MAP] and top[_KEY] is _NO_KEY:
                raise SourceError("a mapping key must be a plain value", line)
            written += 1
            anchor = ev.anchor
            if anchor is not None:
                if anchor in anchors or anchor in open_anchors:
                    raise SourceError(f"invalid YAML: found duplicate anchor {anchor!r}", line)
                open_anchors.add(anchor)
            is_map = kind is MappingStartEvent
            deadlines = (not is_map and len(stack) == 1 and top is not None and top[_MAP]
                         and top[_KEY] == "deadlines" and not top[_MERGE])
            stack.append([is_map, {} if is_map else [], _NO_KEY, 0, False, None, 1, anchor,
                          ({} if is_map else []) if want_lines else None, deadlines, line])
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            frame = stack.pop()
            value, size, child_lines, line = frame[_ITEMS], frame[_SIZE], frame[_LINES], frame[_START]
            if frame[_MERGES]:
                _merge(value, child_lines, frame[_MERGES])
            if frame[_ANCHOR] is not None:
                open_anchors.discard(frame[_ANCHOR])
                anchors[frame[_ANCHOR]] = (value, size, None, child_lines, False, line)
        else:  # pragma: no cover - libyaml gives no other events inside a document
            raise SourceError(f"invalid YAML: unexpected {kind.__name__}", line)
        if not stack:
            result, result_lines, done = value, (line, child_lines), True
            continue
        top = stack[-1]
        top[_SIZE] += size
        if top[_MAP]:
            if top[_KEY] is _NO_KEY:
                if raw is None:
                    raise SourceError("a mapping key must be a plain value", line)
                top[_KEY], top[_KEY_LINE], top[_MERGE] = raw, line, merge_key
                continue
            key = top[_KEY]
            top[_KEY] = _NO_KEY
            if top[_MERGE]:
                if top[_MERGES] is None:
                    top[_MERGES] = []
                top[_MERGES].append((value, top[_KEY_LINE], child_lines))
                continue
            items = top[_ITEMS]
            if key in items:
                raise SourceError(f"key {key!r} appears twice in the same mapping", top[_KEY_LINE])
            items[key] = value
            if want_lines:
                top[_LINES][key] = (top[_KEY_LINE], child_lines)
        else:
            items = top[_ITEMS]
            items.append(value)
            if want_lines:
                top[_LINES].append((line, child_lines))
            if top[_DEADLINES]:
                item_lines[("deadlines", len(items) - 1)] = line
    get()  # DocumentEndEvent
    ev = get()
    if type(ev) is not StreamEndEvent:
        raise SourceError("invalid YAML: expected a single document in the stream, but found another document",
                             ev.start_mark.line + 1)
    return result, item_lines, result_lines


def _define(anchors: dict, name: str, entry: tuple, line: int) -> None:
    if name in anchors:
        raise SourceError(f"invalid YAML: found duplicate anchor {name!r}", line)
    anchors[name] = entry


def _merge(out: dict, out_lines: Lines, merges: list[tuple[Any, int, Lines]]) -> None:
    """Apply merge keys: each source mapping's keys that the mapping does not have, first source first."""
    for value, line, lines in merges:
        sources = value if type(value) is list else [value]
        source_lines = [t for _, t in lines] if type(lines) is list else [lines]
        for i, src in enumerate(sources):
            if type(src) is not dict:
                raise SourceError("a merge key (<<) must name a mapping", line)
            src_lines = source_lines[i] if i < len(source_lines) else None
            for k, v in src.items():
                if k not in out:
                    out[k] = v
                    if type(out_lines) is dict and type(src_lines) is dict:
                        out_lines[k] = src_lines[k]


def line_in(lines: tuple[int, Lines] | None, loc: tuple) -> int | None:
    """The line of the deepest part of `loc` that `lines` (from lines=True) can place."""
    if lines is None:
        return None
    line, node = lines
    for part in loc:
        kind = type(node)
        if (kind is dict and part in node) or (kind is list and type(part) is int and 0 <= part < len(node)):
            line, node = node[part]  # type: ignore[index]
        else:
            return line
    return line
