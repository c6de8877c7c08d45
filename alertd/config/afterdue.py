"""The settings for after the due: `repeat`, `repeat_for` and `escalate`, read and checked.

They may be written under `defaults` and in a deadline; a deadline's own value replaces the
default (`repeat: 0` and `escalate: []` switch the defaults off). Every duration takes the lead
syntax down to seconds (`2s`, `30m`, `PT1H`) and counts elapsed time from the due: `1d` here
is 24 hours. Problems carry their place below the entry, so the caller can give each its line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alertd.core.leads import LeadError, parse_span
from alertd.core.model import AfterDue, Step

__all__ = ["DEFAULT_REPEAT_FOR", "MAX_AFTER", "NOTHING", "SHORT_REPEAT", "Issue", "Written", "combine", "read_written"]

DEFAULT_REPEAT_FOR = 86400  # a day of repeats, unless repeat_for says otherwise
MAX_AFTER = 30 * 86400  # repeat_for and a step's `after` stay within 30 days of the due
SHORT_REPEAT = 60  # `check` warns below this: a repeat every few seconds is for tests

Issue = tuple[tuple, str, str | None, bool]  # (place below the entry, message, hint, is a warning)


@dataclass(frozen=True)
class Written:
    """What one place (a deadline or the defaults) says, parsed; None where it says nothing."""

    repeat: int | None = None  # seconds; 0: no repeats
    repeat_for: int | None = None
    steps: tuple[Step, ...] | None = None
    ok: bool = True  # False: a problem was reported; deadlines relying on it are left out


NOTHING = Written()


def _span(text: str, what: str, loc: tuple, issues: list[Issue]) -> int | None:
    try:
        return parse_span(text, what)
    except LeadError as exc:
        issues.append((loc, str(exc), None, False))
        return None


def read_written(repeat: str | None, repeat_for: str | None, escalate: Sequence[tuple[str, Sequence[str]]] | None,
                 *, known: frozenset[str], channel_hint: Callable[[str], str]) -> tuple[Written, list[Issue]]:
    """Parse one place's settings; problems for everything wrong (all at once)."""
    issues: list[Issue] = []
    every = _span(repeat, "repeat", ("repeat",), issues) if repeat is not None else None
    span = None
    if repeat_for is not None:
        span = _span(repeat_for, "repeat_for", ("repeat_for",), issues)
        if span is not None and not 0 < span <= MAX_AFTER:
            issues.append((("repeat_for",), f"repeat_for {repeat_for!r} must be longer than 0 and at most 30 days",
                           None, False))
    steps = None
    if escalate is not None:
        steps = []
        seen: dict[int, int] = {}
        for j, (after_text, channels) in enumerate(escalate):
            after = _span(after_text, "after", ("escalate", j, "after"), issues)
            if after is not None and not 0 < after <= MAX_AFTER:
                issues.append((("escalate", j, "after"), f"escalate step {j + 1}: after {after_text!r} must be "
                               "longer than 0 and at most 30 days", "a step comes after the due: e.g. 15m", False))
                after = None
            if after is not None and after in seen:
                issues.append((("escalate", j, "after"), f"escalate steps {seen[after] + 1} and {j + 1} come at the "
                               "same time", "list their channels in one step", False))
                after = None
            for k, name in enumerate(channels):
                if name not in known:
                    issues.append((("escalate", j, "channels", k), f"escalate step {j + 1}: channel {name!r} is not "
                                   "defined", channel_hint(name), False))
                    after = None
            if len(set(channels)) != len(channels):
                issues.append((("escalate", j, "channels"), f"escalate step {j + 1}: a channel is listed twice",
                               None, False))
                after = None
            if after is not None:
                seen[after] = j
                steps.append(Step(after, tuple(channels)))
    ok = not any(not warning for *_, warning in issues)
    return Written(every, span, tuple(sorted(steps, key=lambda s: s.after)) if steps is not None else None, ok), issues


def combine(own: Written, base: Written, *, cache: dict[tuple, AfterDue | None],
            defaults: bool = False) -> tuple[AfterDue | None, list[Issue]]:
    """The settings in force for a deadline (its own over the defaults) and the warnings they earn
    where they are written (`own`; the defaults are checked as `combine(defaults, NOTHING, defaults=True)`).

    Equal settings give one shared `AfterDue` through `cache` (100,000 deadlines share defaults).
    """
    repeat = own.repeat if own.repeat is not None else base.repeat
    span = own.repeat_for if own.repeat_for is not None else base.repeat_for
    steps = own.steps if own.steps is not None else base.steps
    span = DEFAULT_REPEAT_FOR if span is None else span
    issues: list[Issue] = []
    if own.repeat:
        if own.repeat < SHORT_REPEAT:
            issues.append((("repeat",), f"repeat {own.repeat} s is under a minute: that many alerts per channel may "
                           "be noise outside a test", None, True))
        if own.repeat > span:
            issues.append((("repeat",), f"repeat ({own.repeat} s) is longer than repeat_for ({span} s): no repeat "
                           "is sent", None, True))
    elif own.repeat_for is not None and not repeat and not defaults:
        issues.append((("repeat_for",), "repeat_for has no effect without repeat", None, True))
    key = (repeat or None, span, steps or ())
    if key[0] is None and not key[2]:
        return None, issues
    found = cache.get(key)
    if found is None:
        found = cache[key] = AfterDue(key[0], span, key[2])
    return found, issues
