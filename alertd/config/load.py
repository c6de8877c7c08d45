"""Loading a config directory: files → merged, validated, resolved `Config`.

Every problem in every file is collected and raised together as one ConfigError;
a config is either wholly valid or not used at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alertd.config.afterdue import read_written
from alertd.config.filepart import REFUSED, Entry, FilePart, digest_of
from alertd.config.problems import ConfigError, Problem
from alertd.config.readers import ReadStats, read_parts
from alertd.config.resolve import Context, lead_problems, parse_leads, resolved_for
from alertd.config.sources import SourceError, read_bytes, scan_config_dir
from alertd.core.model import Deadline

__all__ = ["DEFAULT_REMIND", "Config", "ConfigCache", "load_config"]

DEFAULT_REMIND = ("1d", "1h", "0")


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
                parallel: bool | None = None, fast_yaml: bool = True, stats: ReadStats | None = None) -> Config:
    """Load every config file below `directory`; raises ConfigError listing every problem.

    With `cache`, files whose bytes did not change since the last load with the same cache are
    not parsed again, and the cache is updated to this load's files. `parallel`: see readers.py
    (None: read large configs with a forked helper when that can help); `stats`, when given, is
    filled in with how that went. `fast_yaml=False` reads every YAML file with PyYAML alone
    (same result: the benchmark and the tests compare).
    """
    # Loading makes millions of short-lived objects and no cycles worth collecting: with the
    # cyclic GC on, its passes over the growing heap cost a third of the time at 100k deadlines.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _load_config(directory, env, cache, _Reading(parallel, fast_yaml, stats or ReadStats()))
    except ConfigError:
        raise
    except Exception as exc:
        # The readers bound what a file can do (limits.py); should one still raise, the config is
        # refused like any invalid one (a daemon keeps its running config) and nothing is cached.
        if cache is not None:
            cache.parts = {}
        raise ConfigError([Problem(str(directory), None, f"the config could not be loaded ({type(exc).__name__}): "
                                   "this is a bug in alertd; please report it with the files that cause it")]
                          ) from exc
    finally:
        if paused:
            gc.enable()


@dataclass(frozen=True)
class _Reading:
    """How files are read: see load_config."""

    parallel: bool | None
    fast_yaml: bool
    stats: ReadStats


def _load_config(directory: Path, env: Mapping[str, str], cache: ConfigCache | None, how: _Reading) -> Config:
    if not directory.is_dir():
        raise ConfigError([Problem(str(directory), None, "config directory does not exist",
                                   "pass --config DIR or set ALERTD_CONFIG_DIR")])
    files, problems = scan_config_dir(directory)
    if not files:
        problems.append(Problem(str(directory), None, "no *.yaml, *.yml or *.toml files found", warning=True))
    previous = cache.parts if cache is not None else {}
    parts = _read_all(directory, files, env, previous, how)
    merged = _Merged(directory, parts)
    merged.check_ids(parts)
    ctx = merged.context()
    problems += merged.problems
    deadlines: list[Deadline] = []
    for part in parts:  # a part resolved while the helper read (see _read_all) in an equal context is kept
        resolved = resolved_for(part, ctx, merged.skips.get(part.path, ()))
        ctx.forget_dues()  # a due is mostly repeated within its file: the cache would hold MBs to the end
        deadlines.extend(resolved.deadlines)
        problems.extend(resolved.problems)
    secrets = set().union(*(p.secrets for p in parts)) if parts else set()
    for value in secrets:
        if 0 < len(value) < 3:
            problems.append(Problem(str(directory), None, "a secret value is shorter than 3 characters "
                                    "and cannot be redacted from output", warning=True))
            break
    problems.sort(key=_in_reading_order)  # file by file as they are read, top to bottom
    problems = _once_per_reference(problems)
    for part in parts:
        part.located = None  # a file read again for a problem's line: found again if ever needed
    if cache is not None:
        cache.reused = sum(1 for p in parts if previous.get(p.path) is p)
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


@functools.lru_cache(maxsize=4096)
def _path_order(path: str) -> tuple[str, ...]:
    return Path(path).parts


def _in_reading_order(p: Problem) -> tuple[tuple[str, ...], int]:
    """The order files are read in (sorted `Path`s: `a/b.yaml` before `a.yaml`, unlike their
    strings), then lines; problems of a whole file or directory first."""
    return _path_order(p.path), p.line or 0


def _once_per_reference(problems: list[Problem]) -> list[Problem]:
    """One error per missing `${NAME}`, at its first use; its hint lists the other places."""
    first: dict[str, int] = {}
    others: dict[int, list[str]] = {}
    out: list[Problem] = []
    for p in problems:
        if p.message.startswith("${") and not p.warning:
            i = first.get(p.message)
            if i is not None:
                others[i].append(f"{p.path}:{p.line}" if p.line else p.path)
                continue
            first[p.message] = len(out)
            others[len(out)] = []
        out.append(p)
    for i, places in others.items():
        if places:
            more = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
            hint = f"{out[i].hint}; also used at {more}" if out[i].hint else f"also used at {more}"
            out[i] = dataclasses.replace(out[i], hint=hint)
    return out


def _read_all(directory: Path, files: list[Path], env: Mapping[str, str], cached: Mapping[Path, FilePart],
              how: _Reading) -> list[FilePart]:
    """Every file's part: the cached one when the file's bytes are unchanged, else read (maybe in
    parallel). A file is read again to be parsed (from the page cache): holding every file's bytes
    from here through the reading would cost as much memory as the config's size.

    While a forked helper reads its share, this process resolves the parts it read itself against
    the context they and the cached parts give. The final resolution keeps such a result only if
    the whole config gives the same context (and no duplicate id skips an entry of the part):
    `resolved_for` compares the keys, so a file elsewhere that sets defaults only costs time.
    """
    parts: list[FilePart | None] = [None] * len(files)
    todo: list[int] = []
    for i, path in enumerate(files):
        old = cached.get(path)
        if old is not None:
            with contextlib.suppress(SourceError):  # an unreadable file is reported when it is read
                if old.digest == digest_of(read_bytes(path)):
                    parts[i] = old
                    continue
        todo.append(i)

    def meanwhile(mine: list[FilePart]) -> None:
        ctx = _Merged(directory, [p for p in parts if p is not None] + mine).context()
        for part in mine:
            resolved_for(part, ctx)
            ctx.forget_dues()

    pool: dict[Any, Any] = {}  # equal values (zone names, channel lists, ...) shared across files
    read = read_parts([files[i] for i in todo], env, pool, parallel=how.parallel, fast_yaml=how.fast_yaml,
                      stats=how.stats, meanwhile=meanwhile)
    for i, part in zip(todo, read, strict=True):
        parts[i] = part
    return parts  # type: ignore[return-value]


class _Merged:
    """The cross-file rules: defaults set once, channel names and deadline ids unique."""

    def __init__(self, directory: Path, parts: list[FilePart]) -> None:
        self.directory = directory
        self.problems: list[Problem] = []
        self.defaults: dict[str, tuple[Any, FilePart]] = {}
        self.channel_parts: dict[str, FilePart] = {}
        self.channels: dict[str, Any] = {}
        self.skips: dict[Path, list[int]] = {}
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

    def check_ids(self, parts: list[FilePart]) -> None:
        """Deadline ids unique across files: a repeat is a problem, and its entry is skipped (checked,
        never a deadline). An entry whose id was refused has none to compare."""
        first: dict[str, tuple[FilePart, Entry]] = {}
        for part in parts:
            for e in part.entries:
                if e.id is None:
                    continue
                seen = first.setdefault(e.id, (part, e))
                if seen[1] is not e:
                    other, at = seen
                    line = at.line or other.line_of(("deadlines", at.index))
                    there = f"{other.display}:{line}" if line else other.display
                    self.problems.append(Problem(
                        part.display, part.line_of(("deadlines", e.index, "id")),
                        f"deadline {e.id!r} is defined twice: here and at {there}",
                        "deadline ids must be unique across all config files"))
                    self.skips.setdefault(part.path, []).append(e.index)

    def _default(self, key: str, otherwise: Any) -> Any:
        """The default `key` as written (REFUSED when the schema refused it), `otherwise` when no
        file sets it."""
        return self.defaults[key][0] if key in self.defaults else otherwise

    def context(self) -> Context:
        """The merged defaults; problems with them are added to `problems`."""
        zone = self._default("timezone", "UTC")
        channels = self._default("channels", None)
        ctx = Context(None if zone is REFUSED else zone,
                      tuple(channels) if channels is not None and channels is not REFUSED else None, None,
                      frozenset(self.channels), channels_known=channels is not REFUSED)
        raw = self._default("remind", DEFAULT_REMIND)
        part = self.defaults["remind"][1] if "remind" in self.defaults else None
        parsed = parse_leads(tuple(raw)) if raw is not REFUSED else ()
        if raw is REFUSED:
            pass  # reported where it was refused; deadlines relying on it are not made
        elif lead_problems(parsed):
            for j, message, hint in parsed:  # type: ignore[misc]
                loc = ("defaults", "remind") if j is None else ("defaults", "remind", j)
                if part is None:
                    self.problems.append(Problem(str(self.directory), None, f"defaults: {message}", hint))
                else:
                    self.problems.append(Problem(part.display, part.line_of(loc), f"defaults: {message}", hint))
        else:
            ctx.leads = parsed  # type: ignore[assignment]
        if channels is not None and channels is not REFUSED:
            part = self.defaults["channels"][1]
            for j, name in enumerate(channels):
                if name not in self.channels:
                    self.problems.append(Problem(part.display, part.line_of(("defaults", "channels", j)),
                                                 f"defaults: channel {name!r} is not defined",
                                                 ctx.channel_hint(name)))
        if "status" in self.defaults and self.defaults["status"][0] is not REFUSED:
            ctx.status = self.defaults["status"][0]
        self._after_defaults(ctx)
        return ctx

    def _after_defaults(self, ctx: Context) -> None:
        """The defaults' repeat, repeat_for and escalate, checked where they are written."""
        got = {key: self._default(key, None) for key in ("repeat", "repeat_for", "escalate")}
        refused = {key for key, value in got.items() if value is REFUSED}
        got = {key: value for key, value in got.items() if value is not None and value is not REFUSED}
        if not got and not refused:
            return
        steps = got.get("escalate")
        ctx.after, issues = read_written(got.get("repeat"), got.get("repeat_for"),
                                         [(s.after, s.channels) for s in steps] if steps is not None else None,
                                         known=ctx.known, channel_hint=ctx.channel_hint)
        if refused:  # reported where refused: deadlines relying on the defaults are not made
            ctx.after = dataclasses.replace(ctx.after, ok=False)
        for where, message, hint, warning in (*issues, *ctx.combine(ctx.after, defaults=True)[1]):
            part = self.defaults[where[0]][1]
            self.problems.append(Problem(part.display, part.line_of(("defaults", *where)), f"defaults: {message}",
                                         hint, warning=warning))


