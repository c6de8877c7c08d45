"""What the commands share: usage errors and reading instants from the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime

__all__ = ["UsageError", "parse_instant"]


class UsageError(Exception):
    """A bad argument value argparse cannot check by itself."""


def parse_instant(text: str, what: str) -> datetime:
    """An RFC 3339 instant with Z or an offset, or a date meaning 00:00 UTC of that day."""
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        value = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise UsageError(f"{what} {text!r} is not an RFC 3339 instant (2021-05-14T00:00:00Z) or a date") from None
    if value.tzinfo is None:
        raise UsageError(f"{what} {text!r} has no UTC offset: add Z or +HH:MM")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the year 1 in UTC
        raise UsageError(f"{what} {text!r} is outside the range of instants (years 1 to 9999 in UTC)") from None
