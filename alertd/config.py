"""Loading a config directory: files → merged, validated, resolved `Config`.

Every problem in every file is collected and raised together as one ConfigError;
a config is either wholly valid or not used at all.
"""

from __future__ import annotations

import difflib
import gc
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from alertd.leads import Lead, LeadError, parse_lead
from alertd.model import Deadline, Source
from alertd.problems import ConfigError, Problem
from alertd.schema import (
    CHANNEL_TYPES,
    ID_PATTERN,
    ChannelConfig,
    DeadlineEntry,
    DefaultsEntry,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
)
from alertd.secrets import expand_tree, url_secrets
from alertd.sources import Located, SourceError, find_config_files, read_source
from alertd.timerules import DueError, Resolution, due_instant, parse_due
from alertd.zones import get_zone

__all__ = ["DEFAULT_REMIND", "Config", "load_config"]

DEFAULT_REMIND = ("1d", "1h", "0")
TOP_LEVEL = ("defaults", "channels", "deadlines")
_CHANNEL_ADAPTER: TypeAdapter[Any] = TypeAdapter(ChannelConfig)
_ID = re.compile(ID_PATTERN.strip("^$"))


@dataclass(frozen=True)
class Config:
    """A valid config: channels by name, deadlines in file order, warnings, secret values."""

    directory: Path
    channels: Mapping[str, Any]
    deadlines: tuple[Deadline, ...]
    files: tuple[Path, ...] = ()
    warnings: tuple[Problem, ...] = ()
    secrets: frozenset[str] = field(default_factory=frozenset)


@dataclass
class _Seen:
    located: Located
    loc: tuple[str | int, ...]

    @property
    def where(self) -> str:
        line = self.located.line_of(self.loc)
        return f"{self.located.path}:{line}" if line else self.located.path


class _Loader:
    def __init__(self, directory: Path, env: Mapping[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.problems: list[Problem] = []
        self.secrets: set[str] = set()
        self.defaults: dict[str, tuple[Any, _Seen]] = {}
        self.channels: dict[str, tuple[Any, _Seen]] = {}
        self.entries: list[tuple[DeadlineEntry, _Seen]] = []
        self.deadline_ids: dict[str, _Seen] = {}
        self.valid_leads: dict[tuple[str, ...], tuple[Lead, ...]] = {}

    # -- reporting ----------------------------------------------------------------
    def error(self, located: Located | str, loc: tuple, message: str, hint: str | None = None,
              *, warning: bool = False) -> None:
        if isinstance(located, str):
            self.problems.append(Problem(located, None, message, hint, warning))
        else:
            self.problems.append(Problem(located.path, located.line_of(loc), message, hint, warning))

    def pydantic_errors(self, located: Located, base: tuple, exc: ValidationError, model: type[BaseModel] | None,
                        strip_tag: bool = False) -> None:
        for err in exc.errors(include_input=False, include_url=False):
            loc = tuple(err["loc"])
            if strip_tag and loc and loc[0] in CHANNEL_TYPES:
                loc = loc[1:]
            message, hint = _explain(err, loc, model)
            where = ".".join(str(p) for p in loc)
            self.error(located, (*base, *loc), f"{_describe(base)}{': ' + where if where else ''}: {message}",
                       hint)

    # -- reading ------------------------------------------------------------------
    def read(self, path: Path) -> None:
        display = str(path)
        try:
            located = read_source(path, display)
        except SourceError as exc:
            self.problems.append(Problem(display, exc.line, str(exc), exc.hint))
            return
        data = located.data
        if data is None:
            return
        if not isinstance(data, dict):
            self.error(located, (), "the file must be a mapping with keys defaults, channels, deadlines")
            return
        errors: list[tuple[tuple, str]] = []
        if located.refs_possible:  # expanding a file with no `$` would only copy it
            located.data = data = expand_tree(data, self.env, self.secrets, errors)
        for loc, message in errors:
            self.error(located, loc, message, "export the variable, or use LoadCredential= under systemd")
        for key in data:
            if key not in TOP_LEVEL:
                self.error(located, (key,), f"unknown top-level key {key!r}", _did_you_mean(key, TOP_LEVEL))
        if data.get("defaults") is not None:
            self.read_defaults(located, data["defaults"])
        if data.get("channels") is not None:
            self.read_channels(located, data["channels"])
        if data.get("deadlines") is not None:
            self.read_deadlines(located, data["deadlines"])

    def read_defaults(self, located: Located, raw: Any) -> None:
        try:
            entry = DefaultsEntry.model_validate(raw)
        except ValidationError as exc:
            self.pydantic_errors(located, ("defaults",), exc, DefaultsEntry)
            return
        for key in entry.model_fields_set:
            seen = _Seen(located, ("defaults", key))
            if key in self.defaults:
                self.error(located, ("defaults", key),
                           f"defaults.{key} is set twice: here and at {self.defaults[key][1].where}",
                           "set each default in one file only")
            else:
                self.defaults[key] = (getattr(entry, key), seen)

    def read_channels(self, located: Located, raw: Any) -> None:
        if not isinstance(raw, dict):
            self.error(located, ("channels",), "channels must be a mapping of name to channel settings")
            return
        for name, spec in raw.items():
            loc = ("channels", name)
            if not _valid_id(name):
                self.error(located, loc, f"channel name {name!r} is not valid",
                           "use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit")
                continue
            if isinstance(spec, dict) and spec.get("type") not in CHANNEL_TYPES:
                kind = spec.get("type")
                self.error(located, (*loc, "type"),
                           f"channel {name!r}: " + (f"unknown channel type {kind!r}" if kind is not None
                                                    else "missing key 'type'"),
                           f"use one of: {', '.join(CHANNEL_TYPES)}"
                           + (f"; {_did_you_mean(str(kind), CHANNEL_TYPES)}" if kind else ""))
                continue
            try:
                channel = _CHANNEL_ADAPTER.validate_python(spec)
            except ValidationError as exc:
                kind = spec.get("type") if isinstance(spec, dict) else None
                model = {"slack": SlackChannel, "webhook": WebhookChannel, "email": EmailChannel}.get(kind)
                self.pydantic_errors(located, loc, exc, model, strip_tag=True)
                continue
            if name in self.channels:
                self.error(located, loc, f"channel {name!r} is defined twice: here and at "
                                         f"{self.channels[name][1].where}", "channel names are global")
                continue
            self.channels[name] = (channel, _Seen(located, loc))
            self.secrets.update(_channel_secrets(channel))

    def read_deadlines(self, located: Located, raw: Any) -> None:
        if not isinstance(raw, list):
            self.error(located, ("deadlines",), "deadlines must be a list of deadline entries",
                       "start each deadline with '- id: ...'")
            return
        for i, item in enumerate(raw):
            loc = ("deadlines", i)
            try:
                entry = DeadlineEntry.model_validate(item)
            except ValidationError as exc:
                self.pydantic_errors(located, loc, exc, DeadlineEntry)
                continue
            seen = _Seen(located, loc)
            if entry.id in self.deadline_ids:
                self.error(located, (*loc, "id"), f"deadline {entry.id!r} is defined twice: here and at "
                                                  f"{self.deadline_ids[entry.id].where}",
                           "deadline ids must be unique across all config files")
                continue
            self.deadline_ids[entry.id] = seen
            self.entries.append((entry, seen))

    # -- resolving ----------------------------------------------------------------
    def default(self, key: str, fallback: Any) -> Any:
        return self.defaults[key][0] if key in self.defaults else fallback

    def default_leads(self) -> tuple[Lead, ...] | None:
        raw = self.default("remind", list(DEFAULT_REMIND))
        seen = self.defaults.get("remind", (None, None))[1]
        return self.leads(raw, seen.located if seen else None, ("defaults", "remind"), "defaults")

    def leads(self, raw: list[str], located: Located | None, loc: tuple, owner: str) -> tuple[Lead, ...] | None:
        key = tuple(raw)
        if key in self.valid_leads:  # most deadlines repeat a few remind lists; only valid ones are kept
            return self.valid_leads[key]
        out: dict[str, Lead] = {}
        ok = True
        for j, text in enumerate(raw):
            try:
                lead = parse_lead(text)
            except LeadError as exc:
                self._at(located, (*loc, j), f"{owner}: {exc}")
                ok = False
                continue
            if lead.iso in out:
                self._at(located, (*loc, j), f"{owner}: lead {text!r} is listed twice (both are {lead.iso})")
                ok = False
            out[lead.iso] = lead
        if not raw:
            self._at(located, loc, f"{owner}: remind is empty", "list at least one lead, e.g. [1d, 1h, 0]")
            ok = False
        if not ok:
            return None
        self.valid_leads[key] = result = tuple(sorted(out.values(), key=lambda d: -d.nominal_seconds))
        return result

    def _at(self, located: Located | None, loc: tuple, message: str, hint: str | None = None) -> None:
        if located is None:
            self.problems.append(Problem(str(self.directory), None, message, hint))
        else:
            self.error(located, loc, message, hint)

    def resolve(self) -> list[Deadline]:
        default_zone = self.default("timezone", "UTC")
        default_channels = self.default("channels", None)
        default_leads = self.default_leads()
        if default_channels is not None:
            seen = self.defaults["channels"][1]
            for j, name in enumerate(default_channels):
                if name not in self.channels:
                    self.error(seen.located, ("defaults", "channels", j),
                               f"defaults: channel {name!r} is not defined", self.channel_hint(name))
        out = []
        for entry, seen in self.entries:
            loc, located = seen.loc, seen.located
            zone_name = entry.timezone or default_zone
            try:
                written = parse_due(entry.due)
            except DueError as exc:
                self.error(located, (*loc, "due"), f"deadline {entry.id!r}: {exc}")
                continue
            due, resolution = due_instant(written, get_zone(zone_name))
            if entry.remind is None:
                leads = default_leads
            else:
                leads = self.leads(entry.remind, located, (*loc, "remind"), f"deadline {entry.id!r}")
            channels = entry.channels if entry.channels is not None else default_channels
            if channels is None or not channels:
                self.error(located, loc, f"deadline {entry.id!r} has no channels",
                           "add 'channels: [name]' to it, or 'channels' under defaults")
                continue
            bad = False
            for j, name in enumerate(channels):
                if name not in self.channels:
                    self.error(located, (*loc, "channels", j),
                               f"deadline {entry.id!r}: channel {name!r} is not defined", self.channel_hint(name))
                    bad = True
            if len(set(channels)) != len(channels):
                self.error(located, (*loc, "channels"), f"deadline {entry.id!r}: a channel is listed twice")
                bad = True
            if bad or leads is None:
                continue
            line = located.item_lines.get(loc) or (
                located.line_of(loc) if resolution is not Resolution.EXACT else None)
            deadline = Deadline(
                id=entry.id, title=entry.title, timezone=zone_name, written=written, due=due,
                leads=leads, channels=tuple(channels), resolution=resolution, notes=entry.notes,
                links=tuple(entry.links), tags=tuple(entry.tags), source=Source(located.path, line),
            )
            out.append(deadline)
            if resolution is not Resolution.EXACT:
                self.problems.append(Problem(located.path, located.line_of((*loc, "due")),
                                             _resolution_warning(deadline), warning=True))
        return out

    def channel_hint(self, name: str) -> str:
        known = sorted(self.channels)
        if not known:
            return "no channels are defined; add one under 'channels:'"
        return _did_you_mean(name, known) or f"defined channels: {', '.join(known)}"


def load_config(directory: Path, *, env: Mapping[str, str]) -> Config:
    """Load every config file below `directory`; raises ConfigError listing every problem."""
    # Loading makes millions of short-lived objects and no cycles worth collecting: with the
    # cyclic GC on, its passes over the growing heap cost a third of the time at 100k deadlines.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _load_config(directory, env)
    finally:
        if paused:
            gc.enable()


def _load_config(directory: Path, env: Mapping[str, str]) -> Config:
    loader = _Loader(directory, env)
    if not directory.is_dir():
        raise ConfigError([Problem(str(directory), None, "config directory does not exist",
                                   "pass --config DIR or set ALERTD_CONFIG_DIR")])
    files = find_config_files(directory)
    if not files:
        loader.problems.append(Problem(str(directory), None, "no *.yaml, *.yml or *.toml files found",
                                       warning=True))
    for path in files:
        loader.read(path)
    deadlines = loader.resolve()
    for value in loader.secrets:
        if 0 < len(value) < 3:
            loader.problems.append(Problem(str(directory), None, "a secret value is shorter than 3 characters "
                                           "and cannot be redacted from output", warning=True))
            break
    if any(not p.warning for p in loader.problems):
        raise ConfigError(loader.problems, frozenset(loader.secrets))
    return Config(
        directory=directory,
        channels={name: channel for name, (channel, _) in loader.channels.items()},
        deadlines=tuple(deadlines),
        files=tuple(files),
        warnings=tuple(loader.problems),
        secrets=frozenset(loader.secrets),
    )


def _channel_secrets(channel: Any) -> set[str]:
    """Values that are secret by their nature, even when written literally in a file."""
    out: set[str] = set()
    if isinstance(channel, SlackChannel | WebhookChannel):
        out.add(channel.url.get_secret_value())
        out |= url_secrets(channel.url.get_secret_value())  # a token echoed apart from its URL
    if isinstance(channel, WebhookChannel):
        if channel.secret is not None:
            out.add(channel.secret.get_secret_value())
        out.update(v.get_secret_value() for v in channel.headers.values())
    if isinstance(channel, EmailChannel) and channel.smtp.password is not None:
        out.add(channel.smtp.password.get_secret_value())
    return out


def _resolution_warning(d: Deadline) -> str:
    from alertd.display import due_text, rfc3339  # noqa: PLC0415 - display imports model

    if d.resolution is Resolution.GAP:
        return (f"deadline {d.id!r}: the local time it names does not exist in {d.timezone} (a clock change "
                f"skips it); it is read as {due_text(d)} = {rfc3339(d.due)}")
    return (f"deadline {d.id!r}: the local time it names occurs twice in {d.timezone} (clocks go back); "
            f"the earlier one is used: {rfc3339(d.due)}")


def _valid_id(name: object) -> bool:
    return isinstance(name, str) and _ID.fullmatch(name) is not None


def _did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _describe(base: tuple) -> str:
    if base[:1] == ("channels",) and len(base) > 1:
        return f"channel {base[1]!r}"
    if base[:1] == ("deadlines",) and len(base) > 1:
        return f"deadline #{int(base[1]) + 1}"
    return str(base[0]) if base else "config"


def _explain(err: Any, loc: tuple, model: type[BaseModel] | None) -> tuple[str, str | None]:
    kind, msg = err["type"], err["msg"]
    name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        fields = list(_field_names(model, loc[:-1])) if model else []
        hint = _did_you_mean(name, fields) if fields else None
        return f"unknown key {name!r}", hint or (f"allowed keys: {', '.join(fields)}" if fields else None)
    if kind == "missing":
        return "missing required key", None
    if kind == "string_pattern_mismatch" and name == "id":
        return ("not a valid id", "use 1-128 lower-case letters, digits, '.', '_' or '-', starting with a "
                                  "letter or digit")
    if kind == "value_error":
        return msg.removeprefix("Value error, "), None
    return msg[:1].lower() + msg[1:], None


def _field_names(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc:
        info = model.model_fields.get(str(part))
        annotation = getattr(info, "annotation", None) if info else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            break
    return [f.alias or n for n, f in model.model_fields.items()]
