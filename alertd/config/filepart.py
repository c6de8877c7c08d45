"""One config file read on its own: its defaults, channels and validated deadline entries.

Nothing here looks at another file, so a file's `FilePart` depends only on its bytes (and,
for a file with `${...}` references, the environment): the config cache (load.py) reuses
the parts of unchanged files on reload. Cross-file rules (ids and channel names unique,
defaults set once, channels defined) are load.py's; resolving entries is resolve.py's.

Memory: a part keeps compact `Entry` tuples, not the parsed tree nor pydantic models, and
repeated values (zone names, channel lists, tags) are shared through `pool`, so loading
100,000 deadlines never holds the whole parsed config at once; a file's text and line marks
go as soon as it is read (a problem found later reads the file again for its line).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, TypeAdapter, ValidationError

from alertd.config.channels import CHANNEL_MODELS, CHANNEL_TYPES, ChannelConfig
from alertd.config.checks import is_secret_field, is_secret_header
from alertd.config.explain import did_you_mean, explain, valid_id, validate_fields
from alertd.config.problems import Problem
from alertd.config.schema import (
    TITLE_MAX,
    DeadlineEntry,
    DefaultsEntry,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
    blank,
)
from alertd.config.secretrefs import expand_tree
from alertd.config.sources import Loc, Located, SourceError, read_bytes, read_source
from alertd.core.model import STATUSES
from alertd.core.zones import is_zone_name
from alertd.redact import url_secrets

__all__ = ["REFUSED", "TOP_LEVEL", "Entry", "FilePart", "Refused", "read_part"]

TOP_LEVEL = ("defaults", "channels", "deadlines")
_CHANNEL_ADAPTER: TypeAdapter[Any] = TypeAdapter(ChannelConfig)


class Refused(Enum):
    """The value of a default the schema refused: what relies on it is not judged (no cascade)."""

    VALUE = "refused"


REFUSED = Refused.VALUE


class Entry(NamedTuple):
    """A deadline entry, before it meets the defaults.

    An entry the schema refused in part has None for its refused fields and is listed in its
    part's `refused`: it is still checked for the rest (due, leads, channels, a duplicate id),
    but never becomes a deadline. `id`, `title` and `due` are None only in such an entry.
    """

    index: int  # its position in the file's `deadlines` list
    id: str
    title: str
    due: str
    timezone: str | None
    remind: tuple[str, ...] | None
    channels: tuple[str, ...] | None
    notes: str | None
    links: tuple[str, ...]
    tags: tuple[str, ...]
    line: int | None  # the line of the entry, when known without a second parse
    status: str | None = None
    repeat: str | None = None
    repeat_for: str | None = None
    escalate: tuple[tuple[str, tuple[str, ...]], ...] | None = None  # (after, channels) per step


@dataclass
class FilePart:
    """What one file contributes. `located` is the parsed file, for lines: kept only while needed."""

    path: Path
    display: str
    digest: bytes
    cacheable: bool  # False for a file with `${...}` references: its values depend on the environment
    problems: list[Problem] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    defaults: list[tuple[str, Any]] = field(default_factory=list)  # (key, value), in file order
    channels: list[tuple[str, Any]] = field(default_factory=list)  # (name, validated channel)
    entries: list[Entry] = field(default_factory=list)
    # entry index -> the names of its refused fields (or unknown keys, or fields holding a missing
    # `${NAME}`). Kept beside the entries, not in them: an Entry of a valid file stays as small as it was.
    refused: dict[int, frozenset[str]] = field(default_factory=dict)
    located: Located | None = None
    # (context key and skips, Resolved) of the last resolution (resolve.resolved_for): a reload
    # with the same context reuses its Deadline objects.
    resolved: tuple[tuple, Any] | None = None

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc` in this file; re-reads the file if its parse was let go."""
        if self.located is None:
            try:
                self.located = read_source(self.path, self.display)
            except SourceError:
                return None
        return self.located.line_of(loc)

    def where(self, loc: Loc) -> str:
        line = self.line_of(loc)
        return f"{self.display}:{line}" if line else self.display

    def error(self, loc: Loc, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(self.display, self.line_of(loc), message, hint))


def digest_of(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=20).digest()


def read_part(path: Path, env: Any, pool: dict[Any, Any], raw: bytes | None = None, *,
              fast_yaml: bool = True) -> FilePart:
    """Read, parse and validate one file. `pool` shares equal values across files; `fast_yaml`:
    see sources.read_source."""
    display = str(path)
    if raw is None:
        try:
            raw = read_bytes(path)
        except SourceError as exc:
            part = FilePart(path, display, b"", cacheable=False)
            part.problems.append(Problem(display, exc.line, str(exc), exc.hint))
            return part
    part = FilePart(path, display, digest_of(raw), cacheable=True)
    try:
        located = read_source(path, display, raw=raw, fast_yaml=fast_yaml)
    except SourceError as exc:
        part.cacheable = False
        part.problems.append(Problem(display, exc.line, str(exc), exc.hint))
        return part
    part.located = located
    part.cacheable = not located.refs_possible
    data, located.data = located.data, None  # the parsed tree goes as soon as this file is read
    _read_data(part, data, env, pool, refs_possible=located.refs_possible)
    part.located = None  # its text and line marks: a problem found later reads the file again
    return part


_MISSING_HINT = "export the variable, or use LoadCredential= under systemd"


def _read_data(part: FilePart, data: Any, env: Any, pool: dict[Any, Any], *, refs_possible: bool) -> None:
    if data is None:
        return
    if not isinstance(data, dict):
        part.error((), "the file must be a mapping with keys defaults, channels, deadlines")
        return
    unresolved: set[tuple] = set()  # where a `${NAME}` could not be expanded: no further errors there
    if refs_possible:  # expanding a file with no `$` would only copy it
        errors: list[tuple[tuple, str]] = []
        data = expand_tree(data, env, part.secrets, errors, secret=is_secret_field)
        for loc, message in errors:
            unresolved.add(loc)
            part.error(loc, message, _MISSING_HINT)
    for key in data:
        if key not in TOP_LEVEL:
            part.error((key,), f"unknown top-level key {key!r}", did_you_mean(key, TOP_LEVEL))
        elif data[key] is not None and (key,) not in unresolved:  # `channels: ${X}`: reported already
            below = {u[1:] for u in unresolved if u[:1] == (key,)} if unresolved else set()
            if key == "defaults":
                _read_defaults(part, data[key], below)
            elif key == "channels":
                _read_channels(part, data[key], below)
            else:
                _read_deadlines(part, data[key], pool, below)


def _read_defaults(part: FilePart, raw: Any, unresolved: set[tuple]) -> None:
    def report(loc: tuple, message: str, hint: str | None) -> None:
        part.error(("defaults", *loc), f"defaults: {message}", hint)

    entry, refused = validate_fields(DefaultsEntry, raw, omit={str(u[0]) for u in unresolved}, report=report)
    if entry is not None:
        # an empty value (`remind:`) leaves the default unset, as it does a deadline's field
        part.defaults.extend((key, getattr(entry, key)) for key in entry.model_fields_set
                             if key not in refused and getattr(entry, key) is not None)
    # a refused setting, or one an unknown key stands for (`chanels`), is known to be meant: not judged
    part.defaults.extend((key, REFUSED) for key in sorted(refused) if key in DefaultsEntry.model_fields)


def _read_channels(part: FilePart, raw: Any, unresolved: set[tuple]) -> None:
    if not isinstance(raw, dict):
        part.error(("channels",), "channels must be a mapping of name to channel settings")
        return
    for name, spec in raw.items():
        loc = ("channels", name)
        failed = {u[1:] for u in unresolved if u[0] == name} if unresolved else set()
        if not valid_id(name):
            part.error(loc, f"channel name {name!r} is not valid",
                       "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit")
            part.channels.append((name, None))  # named, if wrongly: deadlines naming it add no errors
            continue
        if isinstance(spec, dict) and spec.get("type") not in CHANNEL_TYPES:
            kind = spec.get("type")
            if ("type",) not in failed:
                part.error((*loc, "type"),
                           f"channel {name!r}: " + (f"unknown channel type {kind!r}" if kind is not None
                                                    else "missing key 'type'"),
                           f"use one of: {', '.join(CHANNEL_TYPES)}"
                           + (f"; {did_you_mean(str(kind), CHANNEL_TYPES)}" if kind else ""))
            part.channels.append((name, None))
            continue
        try:
            channel = _CHANNEL_ADAPTER.validate_python(spec)
        except ValidationError as exc:
            kind = spec.get("type") if isinstance(spec, dict) else None
            model = CHANNEL_MODELS.get(kind)
            _pydantic_errors(part, loc, exc, model, strip_tag=True, skip=failed)
            part.channels.append((name, None))  # defined, if invalid: deadlines naming it add no errors
            continue
        part.channels.append((name, channel))
        part.secrets.update(channel_secrets(channel, skip=failed))


_PLACEHOLDERS = {"id": "x", "title": "x", "due": "x"}  # valid values standing in for refused required fields


def _read_deadlines(part: FilePart, raw: Any, pool: dict[Any, Any], unresolved: set[tuple]) -> None:
    if not isinstance(raw, list):
        part.error(("deadlines",), "deadlines must be a list of deadline entries",
                   "start each deadline with '- id: ...'")
        return
    lines = part.located.item_lines if part.located is not None else {}
    share = pool.setdefault
    entries = part.entries
    missing: dict[int, set[str]] = {}  # entry -> its fields holding a missing `${NAME}`
    for u in unresolved:
        missing.setdefault(u[0], set()).update(str(f) for f in u[1:2])
    for i, item in enumerate(raw):
        fields = plain_entry(item) if i not in missing else None
        if fields is None:
            if (i,) in unresolved:
                continue  # `- ${X}`: reported; nothing to check
            fields, refused = _checked_fields(part, i, item, frozenset(missing.get(i, ())))
            if fields is None:
                continue
            if refused:
                part.refused[i] = refused
        get = fields.get
        remind, channels, tz = get("remind"), get("channels"), get("timezone")
        escalate = get("escalate")
        entries.append(Entry(
            i, fields["id"], fields["title"], fields["due"],
            share(tz, tz) if tz is not None else None,
            share(t := tuple(remind), t) if remind is not None else None,
            share(t := tuple(channels), t) if channels is not None else None,
            get("notes"),
            share(t := tuple(get("links") or ()), t),
            share(t := tuple(get("tags") or ()), t),
            lines.get(("deadlines", i)),
            get("status"), get("repeat"), get("repeat_for"),
            tuple((step["after"], tuple(step["channels"])) for step in escalate) if escalate is not None else None,
        ))


def _checked_fields(part: FilePart, i: int, item: Any, missing: frozenset[str]
                    ) -> tuple[dict[str, Any] | None, frozenset[str]]:
    """An entry off the fast path through the schema: its fields (None for the refused ones) and
    the names of those refused, every problem reported; (None, ...) when nothing can be kept."""
    label = (f"deadline {item['id']!r}" if isinstance(item, dict) and "id" not in missing and valid_id(item.get("id"))
             else f"deadline #{i + 1}")

    def report(loc: tuple, message: str, hint: str | None) -> None:
        part.error(("deadlines", i, *loc), f"{label}: {message}", hint)

    entry, refused = validate_fields(DeadlineEntry, item, omit=missing, placeholders=_PLACEHOLDERS, report=report)
    if entry is None:
        return None, refused
    fields = entry.model_dump()
    for key in refused & fields.keys():
        fields[key] = None
    return fields, refused


_ENTRY_KEYS = frozenset(DeadlineEntry.model_fields)
_ENTRY_REQUIRED = frozenset(k for k, f in DeadlineEntry.model_fields.items() if f.is_required())
_ENTRY_LISTS = frozenset(("remind", "channels", "links", "tags"))


def plain_entry(item: Any) -> dict[str, Any] | None:
    """`item` itself when it is an entry the schema accepts as it is, else None (ask pydantic).

    Only the plainest shape qualifies: known keys, the required ones present, strings and lists
    of strings, a valid id and zone, a title within bounds. pydantic would return exactly these
    values (the tests check it); everything else, and every error, goes through pydantic.
    """
    if type(item) is not dict:
        return None
    keys = item.keys()
    if not (_ENTRY_REQUIRED <= keys <= _ENTRY_KEYS) or "escalate" in keys:  # steps are mappings: pydantic's
        return None
    for key, value in item.items():
        if key in _ENTRY_LISTS:
            if type(value) is not list:
                return None
            for x in value:
                if type(x) is not str:
                    return None
        elif type(value) is not str:
            return None
    if not valid_id(item["id"]) or not 0 < len(item["title"]) <= TITLE_MAX or blank(item["title"]):
        return None
    if item.get("status", "open") not in STATUSES:
        return None
    zone = item.get("timezone")
    if zone is not None and not is_zone_name(zone):
        return None
    return item


def channel_secrets(channel: Any, skip: set[tuple] | frozenset[tuple] = frozenset()) -> set[str]:
    """Values that are secret by their nature, even when written literally in a file: channel URLs
    and their tokens, signing keys, SMTP passwords (and the AUTH forms they take on the wire),
    credential headers. `skip`: fields holding an unexpanded `${NAME}` (its text is no secret)."""
    out: set[str] = set()
    if isinstance(channel, SlackChannel | WebhookChannel) and ("url",) not in skip:
        out.add(channel.url.get_secret_value())
        out |= url_secrets(channel.url.get_secret_value())  # a token echoed apart from its URL
    if isinstance(channel, WebhookChannel):
        if channel.secret is not None and ("secret",) not in skip:
            out.add(channel.secret.get_secret_value())
        out.update(v.get_secret_value() for k, v in channel.headers.items()
                   if is_secret_header(k) and ("headers", k) not in skip)
    if isinstance(channel, EmailChannel) and channel.smtp.password is not None and ("smtp", "password") not in skip:
        password = channel.smtp.password.get_secret_value()
        out.add(password)
        user = channel.smtp.username or ""
        # AUTH PLAIN sends base64("\0user\0password"), LOGIN base64(password): a server echoing them
        for form in (f"\0{user}\0{password}", f"{user}:{password}"):
            out.add(base64.b64encode(form.encode()).decode())
    if hasattr(channel, "secret_values"):  # the hosted services' models name their own
        out |= channel.secret_values()
    return out


def _pydantic_errors(part: FilePart, base: tuple, exc: ValidationError, model: type[BaseModel] | None,
                     *, strip_tag: bool = False, skip: set[tuple] | frozenset[tuple] = frozenset()) -> None:
    for err in exc.errors(include_input=False, include_url=False):
        loc = tuple(err["loc"])
        if strip_tag and loc and loc[0] in CHANNEL_TYPES:
            loc = loc[1:]
        if any(loc[:len(s)] == s for s in skip):
            continue  # a field whose `${NAME}` is missing: that error says it already
        message, hint = explain(err, loc, model)
        where = ".".join(str(p) for p in loc)
        part.error((*base, *loc), f"{_describe(base)}{': ' + where if where else ''}: {message}", hint)


def _describe(base: tuple) -> str:
    if base[:1] == ("channels",) and len(base) > 1:
        return f"channel {base[1]!r}"
    return str(base[0]) if base else "config"
