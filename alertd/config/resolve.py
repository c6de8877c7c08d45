"""Entries meet the defaults: a file's validated entries become `Deadline`s.

`resolve_part` is a pure function of a file's entries and a `Context` (the merged defaults and
the channel names defined anywhere), so its result can be reused for an unchanged file as long
as the context is the same (`Context.key`). The context also carries caches of parsed dues and
lead lists, which repeat a lot across 100,000 deadlines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from alertd.config.afterdue import NOTHING, Written, combine, read_written
from alertd.config.explain import did_you_mean
from alertd.config.filepart import Entry, FilePart
from alertd.config.problems import Problem
from alertd.core.leads import Lead, LeadError, parse_lead
from alertd.core.model import AfterDue, Deadline, Source
from alertd.core.timerules import DueError, Resolution, WrittenDue, due_instant, fire_instant, parse_due
from alertd.core.zones import get_zone

__all__ = ["Context", "Resolved", "lead_problems", "parse_leads", "resolve_part", "resolved_for"]

_DueResult = tuple[WrittenDue, datetime, Resolution] | str


@dataclass(frozen=True)
class Resolved:
    """One file's deadlines (in file order) and the problems found resolving them."""

    deadlines: tuple[Deadline, ...]
    problems: tuple[Problem, ...]


@dataclass
class Context:
    """What resolving an entry needs from the rest of the config.

    What a refused default leaves unknown is not judged: a deadline is not told it has no
    channels when the default channels were refused, and its due is checked as written only
    when the default zone was.
    """

    zone: str | None  # the default zone; None when it is not known (its due is then checked as written)
    channels: tuple[str, ...] | None  # default channels
    leads: tuple[Lead, ...] | None  # default leads; None when the defaults' list is invalid
    known: frozenset[str]  # channel names defined in any file
    status: str = "open"  # the default status
    after: Written = NOTHING  # the defaults' repeat, repeat_for and escalate
    channels_known: bool = True  # False: the default channels were refused
    _dues: dict[tuple[str, str], _DueResult] = field(default_factory=dict, compare=False, repr=False)
    _afters: dict[tuple, AfterDue | None] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> tuple:
        return (self.zone, self.channels, self.leads, self.known, self.status, self.after, self.channels_known)

    def combine(self, own: Written, *, defaults: bool = False) -> tuple[AfterDue | None, list]:
        """The after-due settings in force (see afterdue.combine); equal ones are one object."""
        return combine(own, NOTHING if defaults else self.after, cache=self._afters, defaults=defaults)

    def due(self, text: str, zone_name: str) -> _DueResult:
        """(written, instant, resolution) of a due in a zone, or the error message."""
        key = (text, zone_name)
        found = self._dues.get(key)
        if found is None:
            try:
                written = parse_due(text)
                found = (written, *due_instant(written, get_zone(zone_name)))
            except DueError as exc:
                found = str(exc)
            except OverflowError:
                found = f"due {text!r} in {zone_name} is outside the representable range of instants"
            self._dues[key] = found
        return found

    def forget_dues(self) -> None:
        """Drop the parsed dues (loading does after each file: at 100,000 mostly distinct dues the
        cache would hold ~17 MB through the load, for repeats that are mostly within a file)."""
        self._dues.clear()

    def channel_hint(self, name: str) -> str:
        known = sorted(self.known)
        if not known:
            return "no channels are defined; add one under 'channels:'"
        return did_you_mean(name, known) or f"defined channels: {', '.join(known)}"


@lru_cache(maxsize=1024)
def parse_leads(raw: tuple[str, ...]) -> tuple[Lead, ...] | tuple[tuple[int | None, str, str | None], ...]:
    """A remind list's leads (longest first), or its problems as (index or None, message, hint).

    Problems are told apart from leads by type: a tuple of tuples.
    """
    out: dict[str, Lead] = {}
    problems: list[tuple[int | None, str, str | None]] = []
    for j, text in enumerate(raw):
        try:
            lead = parse_lead(text)
        except LeadError as exc:
            problems.append((j, str(exc), None))
            continue
        if lead.iso in out:
            problems.append((j, f"lead {text!r} is listed twice (both are {lead.iso})", None))
        out[lead.iso] = lead
    if not raw:
        problems.append((None, "remind is empty", "list at least one lead, e.g. [1d, 1h, 0]"))
    if problems:
        return tuple(problems)
    return tuple(sorted(out.values(), key=lambda d: -d.nominal_seconds))


def lead_problems(result: tuple) -> bool:
    return bool(result) and isinstance(result[0], tuple)


def resolved_for(part: FilePart, ctx: Context, skip: Iterable[int] = ()) -> Resolved:
    """`part` resolved in `ctx` (skipping `skip`): kept from its last resolution when that was
    against an equal context and skips (a file resolved while the reader's helper read, an
    unchanged file on reload: it keeps its `Deadline` objects), else computed and kept."""
    key = (ctx.key, tuple(skip))
    if part.resolved is not None and part.resolved[0] == key:
        return part.resolved[1]
    resolved = resolve_part(part, ctx, skip)
    part.resolved = (key, resolved)
    return resolved


def resolve_part(part: FilePart, ctx: Context, skip: Iterable[int] = ()) -> Resolved:
    """The deadlines of `part`'s entries in `ctx`, and every problem of them. The entries at the
    indexes in `skip` (a repeated id) and those the schema refused in part are checked as well,
    but never become deadlines."""
    skipped = frozenset(skip)
    out: list[Deadline] = []
    problems: list[Problem] = []
    path = part.display

    def error(loc: tuple, e: Entry, message: str, hint: str | None = None) -> None:
        """A problem of entry `e`: `message` follows its name (`deadline 'x'`, `deadline #2`)."""
        problems.append(Problem(path, part.line_of(loc), label(e) + message, hint))

    base_after = ctx.combine(NOTHING)[0]  # what deadlines that say nothing get
    refusals = part.refused
    for e in part.entries:
        loc = ("deadlines", e.index)
        refused = refusals.get(e.index, _NONE) if refusals else _NONE
        ok = not refused and e.index not in skipped
        zone_name = e.timezone or (ctx.zone if "timezone" not in refused else None)
        found = ctx.due(e.due, zone_name) if zone_name is not None and "due" not in refused else (
            _as_written(e.due) if "due" not in refused else None)
        if isinstance(found, str):
            error((*loc, "due"), e, f": {found}")
            ok = False
        if e.remind is None:
            leads = ctx.leads
        else:
            parsed = parse_leads(e.remind)
            if lead_problems(parsed):
                for j, message, hint in parsed:  # type: ignore[misc]
                    error((*loc, "remind") if j is None else (*loc, "remind", j), e, f": {message}", hint)
                leads = None
            else:
                leads = parsed  # type: ignore[assignment]
        if not _channels_ok(e, refused, ctx, error):
            ok = False
        after, after_ok = (_after_due(part, e, refused, ctx, problems) if e.repeat is not None
                           or e.repeat_for is not None or e.escalate is not None or refused & _AFTER
                           else (base_after, ctx.after.ok))
        if not ok or leads is None or not after_ok or found is None:
            continue
        written, due, resolution = found  # type: ignore[misc]
        if due.year < _EARLY_YEARS and not _leads_representable(written, due, zone_name, leads):
            error((*loc, "remind"), e, ": a lead reaches back before the year 1")
            continue
        line = e.line or (part.line_of(loc) if resolution is not Resolution.EXACT else None)
        deadline = Deadline(e.id, e.title, zone_name, written, due, leads,
                            e.channels if e.channels is not None else ctx.channels, resolution,
                            e.notes, e.links, e.tags, Source(path, line), e.status or ctx.status, after)
        out.append(deadline)
        if resolution is not Resolution.EXACT:
            problems.append(Problem(path, part.line_of((*loc, "due")), _resolution_warning(deadline),
                                    warning=True))
    return Resolved(tuple(out), tuple(problems))


_AFTER = frozenset(("repeat", "repeat_for", "escalate"))


def _as_written(text: str) -> str | None:
    """A due whose zone is not known, checked as written: its error message, or None (no
    instant: the entry is not made into a deadline, and no error follows from the zone)."""
    try:
        parse_due(text)
    except DueError as exc:
        return str(exc)
    return None

_NONE: frozenset[str] = frozenset()


def label(e: Entry) -> str:
    """How problems name an entry: by its id, else (refused) by its place in the list."""
    return f"deadline {e.id!r}" if e.id is not None else f"deadline #{e.index + 1}"


def _channels_ok(e: Entry, refused: frozenset[str], ctx: Context, error: Callable[..., None]) -> bool:
    """Whether the entry's channels (its own, else the default ones) are usable; errors for
    what is wrong. Channels that cannot be judged (refused, or defaults not known) are not ok,
    with no error: that was reported where it went wrong."""
    loc = ("deadlines", e.index)
    if "channels" in refused or (e.channels is None and not ctx.channels_known):
        return False
    channels = e.channels if e.channels is not None else ctx.channels
    if not channels:
        error(loc, e, " has no channels", "add 'channels: [name]' to it, or 'channels' under defaults")
        return False
    ok = True
    for j, channel in enumerate(channels):
        if channel not in ctx.known:
            error((*loc, "channels", j), e, f": channel {channel!r} is not defined", ctx.channel_hint(channel))
            ok = False
    if len(set(channels)) != len(channels):
        error((*loc, "channels"), e, ": a channel is listed twice")
        ok = False
    return ok


def _after_due(part: FilePart, e: Entry, refused: frozenset[str], ctx: Context,
               problems: list[Problem]) -> tuple[AfterDue | None, bool]:
    """The after-due settings of an entry that writes some, and whether they are usable."""
    own, issues = read_written(e.repeat, e.repeat_for, e.escalate, known=ctx.known, channel_hint=ctx.channel_hint)
    after, more = ctx.combine(own)
    for where, message, hint, warning in (*issues, *more):
        problems.append(Problem(part.display, part.line_of(("deadlines", e.index, *where)),
                                f"{label(e)}: {message}", hint, warning=warning))
    overrides_all = None not in (own.repeat, own.repeat_for, own.steps)
    # invalid defaults were reported there; refused fields where they were refused
    return after, own.ok and (ctx.after.ok or overrides_all) and not refused & _AFTER


_EARLY_YEARS = 3  # a due this close to the year 1 may have alerts before it


def _leads_representable(written: WrittenDue, due: datetime, zone_name: str, leads: tuple[Lead, ...]) -> bool:
    try:
        for lead in leads:
            fire_instant(written, due, get_zone(zone_name), lead)
    except OverflowError:
        return False
    return True


def _resolution_warning(d: Deadline) -> str:
    from alertd.core.display import due_text, rfc3339  # noqa: PLC0415 - display imports model

    if d.resolution is Resolution.SKIPPED_DAY:
        return (f"deadline {d.id!r}: the date it names never happened in {d.timezone} (a clock change skipped "
                f"the whole day); its end is the start of the next day: {due_text(d)} = {rfc3339(d.due)}")
    if d.resolution is Resolution.GAP:
        return (f"deadline {d.id!r}: the local time it names does not exist in {d.timezone} (a clock change "
                f"skips it); it is read as {due_text(d)} = {rfc3339(d.due)}")
    return (f"deadline {d.id!r}: the local time it names occurs twice in {d.timezone} (clocks go back); "
            f"the earlier one is used: {rfc3339(d.due)}")
