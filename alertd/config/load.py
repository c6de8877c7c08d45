"""Loading a config directory: files → merged, validated, resolved `Config`.

Every problem in every file is collected and raised together as one ConfigError;
a config is either wholly valid or not used at all.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alertd.config.filepart import Entry, FilePart, digest_of, read_part
from alertd.config.problems import ConfigError, Problem
from alertd.config.readers import read_parts
from alertd.config.resolve import Context, Resolved, lead_problems, parse_leads, resolved_for, settle
from alertd.config.sources import SourceError, find_config_files, read_bytes
from alertd.core.model import Deadline

__all__ = ["DEFAULT_REMIND", "Config", "ConfigCache", "load_config"]

DEFAULT_REMIND = ("1d", "1h", "0")
SETTLE = True  # resolve each file as it is read (see _read_all); the tests compare with it off


@dataclass(frozen=True)
class Config:
    """A valid config: channels by name, deadlines in file order, warnings, secret values."""

    directory: Path
    channels: Mapping[str, Any]
    deadlines: tuple[Deadline, ...]
    files: tuple[Path, ...] = ()
    warnings: tuple[Problem, ...] = ()
    secrets: frozenset[str] = field(default_factory=frozenset)


class ConfigCache:
    """The parts of the files the last load read, to reuse for files whose bytes are unchanged.

    A daemon keeps one across reloads: re-reading one changed file of a hundred then costs that
    file, plus the cross-file checks. A file with `${...}` references is always read again (its
    values depend on the environment and the credentials); a file's resolved deadlines (kept on
    its part) are reused only while the defaults and channel names they were resolved against
    are the same.
    """

    def __init__(self) -> None:
        self.parts: dict[Path, FilePart] = {}
        self.reused = 0  # files taken from the cache by the last load (for logs and tests)


def load_config(directory: Path, *, env: Mapping[str, str], cache: ConfigCache | None = None,
                parallel: bool | None = None, fast_yaml: bool = True) -> Config:
    """Load every config file below `directory`; raises ConfigError listing every problem.

    With `cache`, files whose bytes did not change since the last load with the same cache are
    not parsed again, and the cache is updated to this load's files. `parallel`: see readers.py
    (None: read large configs with a forked helper when that can help). `fast_yaml=False` reads
    every YAML file with PyYAML alone (same result: the benchmark and the tests compare).
    """
    # Loading makes millions of short-lived objects and no cycles worth collecting: with the
    # cyclic GC on, its passes over the growing heap cost a third of the time at 100k deadlines.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _load_config(directory, env, cache, parallel, fast_yaml)
    finally:
        if paused:
            gc.enable()


def _load_config(directory: Path, env: Mapping[str, str], cache: ConfigCache | None,
                 parallel: bool | None, fast_yaml: bool) -> Config:
    if not directory.is_dir():
        raise ConfigError([Problem(str(directory), None, "config directory does not exist",
                                   "pass --config DIR or set ALERTD_CONFIG_DIR")])
    files = find_config_files(directory)
    problems: list[Problem] = []
    if not files:
        problems.append(Problem(str(directory), None, "no *.yaml, *.yml or *.toml files found", warning=True))
    pool: dict[Any, Any] = {}
    previous = dict(cache.parts) if cache is not None else {}
    parts = _read_all(directory, files, env, pool, cache=cache, parallel=parallel, fast_yaml=fast_yaml)
    for attempt in itertools.count():
        merged = _Merged(directory, parts)
        ctx = merged.context()
        results: list[Resolved | None] = [
            None if part.path in merged.unsettle else resolved_for(part, ctx, merged.skips.get(part.path, ()))
            for part in parts]
        stale = [i for i, r in enumerate(results) if r is None]
        if not stale:
            break
        # A settled file was resolved against other defaults or channels than the config gives
        # (or holds a duplicate id, whose message needs its entries): read it again. With the
        # same context on the next pass it resolves in place; a duplicate keeps its entries.
        keep = bool(merged.unsettle) or attempt > 0
        again = read_parts([(files[i], None) for i in stale], env, pool, parallel=parallel, fast_yaml=fast_yaml,
                           then=None if keep else functools.partial(settle, ctx=ctx))
        for i, part in zip(stale, again, strict=True):
            parts[i] = part
    problems += merged.problems
    deadlines: list[Deadline] = []
    for resolved in results:
        if resolved is None:  # the loop above ends only when every part is resolved
            raise RuntimeError("a config part was left unresolved")
        deadlines.extend(resolved.deadlines)
        problems.extend(resolved.problems)
    secrets = set().union(*(p.secrets for p in parts)) if parts else set()
    for value in secrets:
        if 0 < len(value) < 3:
            problems.append(Problem(str(directory), None, "a secret value is shorter than 3 characters "
                                    "and cannot be redacted from output", warning=True))
            break
    problems.sort(key=lambda p: (p.path, p.line or 0))  # file by file, top to bottom
    for part in parts:
        part.located = None  # lines are found again from the file if ever needed
    if cache is not None:
        cache.reused = sum(1 for p in parts if previous.get(p.path) is p)  # not those read again above
        cache.parts = {p.path: p for p in parts if p.cacheable}
    if any(not p.warning for p in problems):
        raise ConfigError(problems, frozenset(secrets))
    return Config(
        directory=directory,
        channels=merged.channels,
        deadlines=tuple(deadlines),
        files=tuple(files),
        warnings=tuple(problems),
        secrets=frozenset(secrets),
    )


# A line that may set defaults or define channels (YAML `defaults:`, `"channels":`, `{defaults:`;
# TOML `[defaults]`, `[channels.x]`, `channels.x.type =`). Only a guess of which files give the
# context: a file it misses is found out after reading and read again (`_load_config`).
_CONTEXT_LINE = re.compile(rb"^(?:[\[{\"'][ \t]*)*(?:defaults|channels)\b", re.MULTILINE)


def _read_all(directory: Path, files: list[Path], env: Mapping[str, str], pool: dict[Any, Any], *,
              cache: ConfigCache | None, parallel: bool | None, fast_yaml: bool) -> list[FilePart]:
    """Every file's part: from the cache when its bytes are unchanged, else read (maybe in parallel).

    The files that look like they set defaults or define channels are read first; the context
    they give (with the cached parts) is what every other file is resolved against as soon as it
    is read (`settle`): entries are let go file by file instead of all living at once.
    """
    parts: list[FilePart | None] = [None] * len(files)
    first: list[tuple[int, Path, bytes | None]] = []  # read first, with the bytes read here
    rest: list[int] = []  # read later (their bytes again, from the page cache: holding every
    # file's bytes through the whole load would cost as much memory as the config's size)
    for i, path in enumerate(files):
        raw = None
        with contextlib.suppress(SourceError):  # an unreadable file is reported by read_part
            raw = read_bytes(path)
        old = cache.parts.get(path) if cache is not None else None
        if raw is not None and old is not None and old.digest == digest_of(raw):
            parts[i] = old
        elif SETTLE and (raw is None or _CONTEXT_LINE.search(raw)):
            first.append((i, path, raw))
        else:
            rest.append(i)
    for i, path, raw in first:
        parts[i] = read_part(path, env, pool, raw=raw, fast_yaml=fast_yaml)
    then = None
    if SETTLE:
        ctx = _Merged(directory, [p for p in parts if p is not None], check_ids=False).context()
        for i, _, _ in first:
            settle(parts[i], ctx)  # type: ignore[arg-type]
        then = functools.partial(settle, ctx=ctx)
    first.clear()
    todo = [(files[i], None) for i in rest]
    for i, part in zip(rest, read_parts(todo, env, pool, parallel=parallel, fast_yaml=fast_yaml, then=then),
                       strict=True):
        parts[i] = part
    return parts  # type: ignore[return-value]


class _Merged:
    """The cross-file rules: defaults set once, channel names and deadline ids unique."""

    def __init__(self, directory: Path, parts: list[FilePart], *, check_ids: bool = True) -> None:
        self.directory = directory
        self.problems: list[Problem] = []
        self.defaults: dict[str, tuple[Any, FilePart]] = {}
        self.channel_parts: dict[str, FilePart] = {}
        self.channels: dict[str, Any] = {}
        self.skips: dict[Path, list[int]] = {}
        self.unsettle: set[Path] = set()  # settled files a duplicate id was found in: read them again
        for part in parts:
            self.problems.extend(part.problems)
            for key, value in part.defaults:
                if key in self.defaults:
                    self.problems.append(Problem(
                        part.display, part.line_of(("defaults", key)),
                        f"defaults.{key} is set twice: here and at "
                        f"{self.defaults[key][1].where(('defaults', key))}", "set each default in one file only"))
                else:
                    self.defaults[key] = (value, part)
            for name, channel in part.channels:
                if name in self.channels:
                    self.problems.append(Problem(
                        part.display, part.line_of(("channels", name)),
                        f"channel {name!r} is defined twice: here and at "
                        f"{self.channel_parts[name].where(('channels', name))}", "channel names are global"))
                else:
                    self.channels[name] = channel
                    self.channel_parts[name] = part
        if check_ids:
            self._check_ids(parts)

    def _check_ids(self, parts: list[FilePart]) -> None:
        first: dict[str, tuple[FilePart, Entry | None]] = {}  # None: in a settled part
        for part in parts:
            if part.settled:  # only ids are left: a duplicate's message needs the entries again
                for deadline_id in part.ids:
                    if deadline_id in first:
                        self.unsettle.update((part.path, first[deadline_id][0].path))
                    else:
                        first[deadline_id] = (part, None)
                continue
            for e in part.entries:
                seen = first.setdefault(e.id, (part, e))
                if seen[1] is not e:
                    other, at = seen
                    if at is None:
                        self.unsettle.update((part.path, other.path))
                        continue
                    line = at.line or other.line_of(("deadlines", at.index))
                    there = f"{other.display}:{line}" if line else other.display
                    self.problems.append(Problem(
                        part.display, part.line_of(("deadlines", e.index, "id")),
                        f"deadline {e.id!r} is defined twice: here and at {there}",
                        "deadline ids must be unique across all config files"))
                    self.skips.setdefault(part.path, []).append(e.index)

    def context(self) -> Context:
        """The merged defaults; problems with them are added to `problems`."""
        zone = self.defaults["timezone"][0] if "timezone" in self.defaults else "UTC"
        channels = self.defaults["channels"][0] if "channels" in self.defaults else None
        ctx = Context(zone, tuple(channels) if channels is not None else None, None, frozenset(self.channels))
        if "remind" in self.defaults:
            raw, part = self.defaults["remind"]
        else:
            raw, part = list(DEFAULT_REMIND), None
        parsed = parse_leads(tuple(raw))
        if lead_problems(parsed):
            for j, message, hint in parsed:  # type: ignore[misc]
                loc = ("defaults", "remind") if j is None else ("defaults", "remind", j)
                if part is None:
                    self.problems.append(Problem(str(self.directory), None, f"defaults: {message}", hint))
                else:
                    self.problems.append(Problem(part.display, part.line_of(loc), f"defaults: {message}", hint))
        else:
            ctx.leads = parsed  # type: ignore[assignment]
        if channels is not None:
            part = self.defaults["channels"][1]
            for j, name in enumerate(channels):
                if name not in self.channels:
                    self.problems.append(Problem(part.display, part.line_of(("defaults", "channels", j)),
                                                 f"defaults: channel {name!r} is not defined",
                                                 ctx.channel_hint(name)))
        return ctx


