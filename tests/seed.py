"""The shipped seed deadline as the tests use it, and a short way to write UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alertd.config import load_config
from alertd.core.leads import parse_lead
from alertd.core.model import Deadline
from alertd.core.notification import Notification

SEED_CONFIG = Path(__file__).resolve().parents[1] / "config"


def seed_deadline() -> Deadline:
    """The shipped deadline: end of Fri 21 May 2021 in Moscow = 2021-05-21T21:00:00Z."""
    config = load_config(SEED_CONFIG, env={})
    return next(d for d in config.deadlines if d.id == "us-diplomats-leave-russia")


def seed_note(lead: str = "1d", channel: str = "ops", late_by_seconds: int = 0) -> Notification:
    d = seed_deadline()
    value = parse_lead(lead)
    return Notification.for_alert(d, value, d.fire_at(value), channel, late_by_seconds=late_by_seconds)



def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
