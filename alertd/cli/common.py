"""What the commands share: usage errors, reading instants from the command line, the shared store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from alertd.settings import Settings, resolve_instance
from alertd.store.base import StoreError

__all__ = ["UsageError", "open_database", "parse_instant"]


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


def open_database(settings: Settings, *, migrate: bool) -> Any:
    """The PostgreSQL store ALERTD_DATABASE_URL names (a `PostgresStore`), for a command. `migrate=False`
    (reading: `alertd status`) refuses a database alertd never ran on. Raises StoreError naming why."""
    try:
        from alertd.store.postgres import PostgresStore  # noqa: PLC0415 - psycopg is the optional extra
    except ImportError as exc:
        raise StoreError(f"ALERTD_DATABASE_URL is set but the PostgreSQL driver is missing ({exc.name}): "
                         "install alertd[postgres]") from None
    assert settings.database_url is not None  # noqa: S101 - the caller checked
    return PostgresStore.open(settings.database_url.get_secret_value(), instance=resolve_instance(settings),
                              migrate_schema=migrate, max_connections=1)
