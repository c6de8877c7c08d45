"""IANA time zones, always from the `tzdata` package so results never depend on the host.

`zoneinfo.ZoneInfo` prefers the system database when one exists; alertd reads the
packaged one instead, because a deadline must resolve to the same instant on every
machine that runs the same release.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

__all__ = ["UnknownZoneError", "get_zone", "is_zone_name"]

_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$")


class UnknownZoneError(ValueError):
    """Raised for a name that is not a zone in the packaged IANA database."""


def is_zone_name(name: str) -> bool:
    """True when `name` is a zone in the packaged IANA database."""
    try:
        get_zone(name)
    except UnknownZoneError:
        return False
    return True


@cache
def get_zone(name: str) -> ZoneInfo:
    """The zone called `name` from the `tzdata` package; raises UnknownZoneError."""
    if not _NAME.match(name) or ".." in name:
        raise UnknownZoneError(f"{name!r} is not an IANA time zone name")
    node = resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    try:
        with node.open("rb") as fh:
            return ZoneInfo.from_file(fh, key=name)
    except (FileNotFoundError, IsADirectoryError, ValueError, OSError) as exc:
        raise UnknownZoneError(f"unknown time zone {name!r}") from exc
