"""Lead times: how long before a deadline an alert fires.

A lead has a calendar part (days; weeks are seven days) applied on the wall clock of
the deadline's zone, and an exact part (seconds) applied after it. Its canonical
spelling everywhere (plan, payloads, ledger) is an ISO 8601 duration: `P7D`,
`PT1H30M`, `P1DT12H`, `PT0S`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

__all__ = ["Lead", "LeadError", "lead_from_iso", "parse_lead", "parse_span"]

# ASCII digits only (`\d` would take `٣` for 3), at most 9 of them (int() of thousands of digits is slow)
_SHORT = re.compile(r"([0-9]{1,9})([wdhms])")
_SHORT_WHOLE = re.compile(r"(?:[0-9]{1,9}[wdhms])+")
_ISO = re.compile(
    r"P(?:(?P<w>[0-9]{1,9})W)?(?:(?P<d>[0-9]{1,9})D)?"
    r"(?:T(?:(?P<h>[0-9]{1,9})H)?(?:(?P<m>[0-9]{1,9})M)?(?:(?P<s>[0-9]{1,9})S)?)?"
)
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
_MAX_DAYS = 3660  # ten years: anything longer is a typo, not a reminder


class LeadError(ValueError):
    """Raised for a lead that is not `0`, `<n><unit>...` or an ISO 8601 duration."""


@dataclass(frozen=True, slots=True, order=True)
class Lead:
    """A lead time: `days` of wall-clock calendar arithmetic, then `seconds` of elapsed time.

    A negative lead is a time AFTER the due (a repeat or an escalation step): elapsed seconds
    only (`days` 0), written `-PT30M`. Reminders have leads of zero or more.
    """

    days: int = 0
    seconds: int = 0

    @classmethod
    def after_due(cls, seconds: int) -> Lead:
        """The lead of an alert `seconds` (> 0) after the due: `Lead.after_due(1800).iso == "-PT30M"`."""
        return cls(0, -seconds)

    @property
    def iso(self) -> str:
        """The canonical ISO 8601 duration (`P1DT12H`, `PT0S`, `-PT30M` after the due)."""
        if self.seconds < 0 or self.days < 0:
            return "-" + _iso(-self.days, -self.seconds)
        return _iso(self.days, self.seconds)

    @property
    def is_after_due(self) -> bool:
        return self.seconds < 0 or self.days < 0

    @property
    def is_zero(self) -> bool:
        return not self.days and not self.seconds

    @property
    def nominal_seconds(self) -> int:
        """Length as if every day had 24 hours: for ordering and wording only."""
        return self.days * 86400 + self.seconds

    def __str__(self) -> str:
        return self.iso


@cache
def _iso(days: int, seconds: int) -> str:
    if not days and not seconds:
        return "PT0S"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    if seconds:
        out += "T" + "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return out


def parse_lead(value: object) -> Lead:
    """Parse `0`, `7d`, `1d12h`, `90m`, `P7D`, `PT6H`, `P1DT12H`; raises LeadError."""
    return _parse(value, "lead")


def parse_span(value: object, what: str) -> int:
    """A duration in the lead syntax as elapsed seconds (a day is 24 hours): `repeat: 30m` → 1800.

    For the times after a due (repeat, repeat_for, escalation steps, snoozes), which count on
    the stopwatch: a repeat every hour across a DST change neither sends twice nor skips one.
    `what` names the setting in errors (`repeat '-5m' is negative`).
    """
    lead = _parse(value, what)
    return lead.days * 86400 + lead.seconds


def lead_from_iso(text: str) -> Lead:
    """The lead a canonical ISO text stands for, `-PT30M` (after the due) included; raises LeadError."""
    if text.startswith("-"):
        lead = _parse(text[1:], "lead")
        if lead.days or not lead.seconds:
            raise LeadError(f"lead {text!r}: a time after the due is whole elapsed seconds")
        return Lead.after_due(lead.seconds)
    return _parse(text, "lead")


def _parse(value: object, what: str) -> Lead:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise LeadError(f"{what} must be a string like '1d' or 'PT6H', not {type(value).__name__}")
    text = str(value).strip()
    if text == "0":
        return Lead()
    if text.startswith("-"):
        if what == "lead":
            raise LeadError(f"lead {_shown(text)} is negative; leads count back from the deadline, use e.g. '1d'")
        raise LeadError(f"{what} {_shown(text)} is negative; write how long, e.g. '30m'")
    if _SHORT_WHOLE.fullmatch(text):
        days = seconds = 0
        pairs = _SHORT.findall(text)
        units = [unit for _, unit in pairs]
        if len(set(units)) != len(units):
            raise LeadError(f"{what} {_shown(text)} names a unit twice; write each of w, d, h, m, s once (e.g. 1d12h)")
        for number, unit in pairs:
            n = int(number)
            if unit == "w":
                days += 7 * n
            elif unit == "d":
                days += n
            else:
                seconds += n * _UNIT_SECONDS[unit]
        return _checked(text, days, seconds, what)
    match = _ISO.fullmatch(text.upper()) if text.upper().startswith("P") else None
    if match and text.upper() not in ("P", "PT") and not text.upper().endswith("T"):
        parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
        days = parts["w"] * 7 + parts["d"]
        seconds = parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
        return _checked(text, days, seconds, what)
    hint = ""
    if re.fullmatch(r"P.*[YM].*", text.upper().split("T")[0]):
        hint = "; months and years have no fixed length, use days or weeks"
    raise LeadError(
        f"{what} {_shown(text)} is not a duration: use 0, <n><unit> with units w d h m s "
        f"(e.g. 7d, 1d12h, 90m) or ISO 8601 (P7D, PT6H){hint}"
    )


def _shown(text: str) -> str:
    """A lead as messages quote it: repr (control characters escaped), long ones cut short."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _checked(text: str, days: int, seconds: int, what: str) -> Lead:
    if days + seconds // 86400 > _MAX_DAYS:
        raise LeadError(f"{what} {_shown(text)} is longer than ten years")
    return Lead(days=days, seconds=seconds)
