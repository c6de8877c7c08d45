"""The human message of a notification, written once for every channel. Pure functions.

A `Message` holds the parts (headline, due in each zone, notes, links, tags); each
channel lays them out its own way (Slack blocks, e-mail text, the log) but never
words them differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from alertd.core.display import due_text, humanize_seconds, when_text
from alertd.core.leads import Lead
from alertd.core.links import Actions
from alertd.core.notification import Notification
from alertd.core.state import Act
from alertd.core.zones import get_zone

__all__ = ["DueIn", "Message", "lead_words", "render"]

_NOW_SLACK = 60  # seconds: closer than this to the due, an alert says "due now"


@dataclass(frozen=True, slots=True)
class DueIn:
    """The due shown in one zone: `Fri 21 May 2021, 24:00 MSK` and the zone's name."""

    zone: str
    text: str

    def __str__(self) -> str:
        return self.text if self.zone == "UTC" else f"{self.text} ({self.zone})"


@dataclass(frozen=True, slots=True)
class Message:
    """Everything a channel shows about one notification."""

    title: str
    headline: str  # "in 1 day", "due now", "was due 3 h ago", "test"
    dues: tuple[DueIn, ...]  # the deadline's zone, UTC, the channel's zone (no repeats)
    late_note: str | None  # set when this alert goes out late but the deadline is ahead
    notes: str | None
    links: tuple[str, ...]
    tags: tuple[str, ...]
    remark: str | None = None  # a notice's note: `Note from alice: on it`
    hint: str | None = None  # what to do next: `To acknowledge: alertd ack ID`
    actions: Actions | None = None  # the signed links to act on it (a capability: never logged)

    @property
    def subject(self) -> str:
        """The e-mail subject: `[alertd] in 1 day: Ten US diplomats must leave Russia`."""
        return f"[alertd] {self.headline}: {one_line(self.title)}"

    @property
    def summary(self) -> str:
        """One line for notifications and fallbacks: title, headline and the due in its own zone."""
        return f"{one_line(self.title)}: {self.headline} (due {self.dues[0].text})"

    @property
    def text(self) -> str:
        """The plain-text message: what the console logs, e-mail sends and webhooks carry."""
        lines = [f"{self.title} — {self.headline}", ""]
        lines.append(f"Due: {self.dues[0]}")
        lines += [f"     {due}" for due in self.dues[1:]]
        if self.late_note:
            lines += ["", self.late_note]
        if self.remark:
            lines += ["", self.remark]
        if self.notes:
            lines += ["", self.notes.strip()]
        if self.links:
            lines += ["", "Links:", *(f"- {link}" for link in self.links)]
        if self.tags:
            lines += ["", "Tags: " + ", ".join(self.tags)]
        if self.actions:
            lines += ["", *(f"{label}: {url}" for label, url in self.actions.labelled())]
        if self.hint:
            lines += ["", self.hint]
        return "\n".join(lines) + "\n"


def one_line(text: str) -> str:
    """`text` with every run of whitespace (CR and LF included) made one space."""
    return " ".join(text.split())


def lead_words(lead: Lead) -> str:
    """A lead in words: `1 day`, `7 days`, `6 hours`, `1 day 12 hours`, `1 hour 30 minutes`."""
    hours, rest = divmod(lead.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(lead.days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n)


def headline(note: Notification, *, now: datetime) -> str:
    """How far away the due is, as the alert should say it.

    On time, the lead says it (`in 1 day`, `due now`); a late alert measures from
    `now` (`in 21 h`, `was due 3 h ago`), because the lead is no longer true.
    """
    if note.kind == "alertd.test":
        return "test"
    if note.action is not None:
        return notice_headline(note)
    if note.lead.is_after_due:
        text = f"OVERDUE by {humanize_seconds((now - note.deadline.due).total_seconds())}"
        if note.step:
            steps = len(note.deadline.after.steps) if note.deadline.after is not None else note.step
            text += f", escalated (step {note.step} of {steps})"
        return text
    if note.late_by_seconds <= 0:
        return "due now" if note.lead.is_zero else f"in {lead_words(note.lead)}"
    remaining = (note.deadline.due - now).total_seconds()
    if abs(remaining) < _NOW_SLACK:
        return "due now"
    if remaining < 0:
        return f"was due {humanize_seconds(remaining)} ago"
    return f"in {humanize_seconds(remaining)}"


def notice_headline(note: Notification) -> str:
    """`acknowledged by alice`, `marked done by alice`, `snoozed by alice until Fri 21 May 2021, 18:00 MSK`."""
    action = note.action
    if action is None:
        raise ValueError("not a notice")
    by = one_line(action.by)
    if action.act is Act.ACK:
        return f"acknowledged by {by}"
    if action.act is Act.DONE:
        return f"marked done by {by}"
    until = when_text(action.until, note.deadline.zone) if action.until is not None else "further notice"
    return f"snoozed by {by} until {until}"


def hint(note: Notification) -> str | None:
    """How to answer: acknowledge an alert, undo a notice's action (the link once the web surface has one)."""
    if note.kind == "alertd.test":
        return None
    if note.action is not None:
        return f"To undo: alertd reopen {note.deadline.id}"
    return f"To acknowledge: alertd ack {note.deadline.id}"


def dues(note: Notification, channel_zone: str | None) -> tuple[DueIn, ...]:
    """The due in the deadline's zone, in UTC and in the channel's zone, each once."""
    d = note.deadline
    out = [DueIn(d.timezone, due_text(d))]
    for name in ("UTC", channel_zone):
        if name and name not in (z.zone for z in out):
            zone = UTC if name == "UTC" else get_zone(name)
            out.append(DueIn(name, due_text(d, zone)))
    return tuple(out)


def render(note: Notification, *, now: datetime, channel_zone: str | None = None) -> Message:
    """The message for `note` sent at `now` to a channel showing `channel_zone` too."""
    d = note.deadline
    late_note = None
    if note.kind in ("deadline.reminder", "deadline.due") and note.late_by_seconds > 0 and d.due > now:
        late_note = (f"This {lead_words(note.lead)} reminder is late: it was due "
                     f"{humanize_seconds(note.late_by_seconds)} ago.")
    elif note.lead.is_after_due and note.late_by_seconds > 0:
        what = "escalation" if note.step else "repeat"
        late_note = f"This {what} is late: it was planned for {humanize_seconds(note.late_by_seconds)} ago."
    remark = None
    if note.action is not None and note.action.note:
        remark = f"Note from {one_line(note.action.by)}: {note.action.note.strip()}"
    return Message(
        title=d.title, headline=headline(note, now=now), dues=dues(note, channel_zone), late_note=late_note,
        notes=d.notes, links=d.links, tags=d.tags, remark=remark, hint=hint(note), actions=note.actions,
    )
