"""`alertd check`: validate the config; print each deadline's resolved due and its next alert (and
its status and what it sends after the due, when it says)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TextIO

from alertd.config import Config, load_or_report
from alertd.core.display import due_text, printable, rfc3339
from alertd.core.leads import Lead
from alertd.core.model import AfterDue
from alertd.core.planner import next_alert
from alertd.exitcodes import EX_FAIL, EX_OK
from alertd.redact import Redactor

__all__ = ["after_text", "cmd_check", "write_check"]


def after_text(after: AfterDue) -> str:
    """`repeat every PT30M for PT24H; escalate -PT15M -> duty; -PT1H -> boss, ops`."""
    parts = [f"repeat every {Lead(0, after.repeat).iso} for {Lead(0, after.repeat_for).iso}"] if after.repeat else []
    if after.steps:
        parts.append("escalate " + "; ".join(f"{Lead.after_due(s.after).iso} -> {', '.join(s.channels)}"
                                            for s in after.steps))
    return "; ".join(parts)


def cmd_check(config_dir: Path, *, now: datetime, out: TextIO, err: TextIO) -> int:
    config = load_or_report(config_dir, err)
    if config is None:
        return EX_FAIL
    write_check(config, now=now, out=out, err=err)
    return EX_OK


def write_check(config: Config, *, now: datetime, out: TextIO, err: TextIO) -> None:
    """check's report of a loaded config: each deadline's due and next alert, then a summary."""
    redact = Redactor(config.secrets)
    upcoming = 0
    lines: list[str] = []  # written and redacted at once: 300,000 lines for 100,000 deadlines
    for d in config.deadlines:
        nxt = next_alert(d, now=now)
        lines.append(f"{d.id}: {printable(d.title)}")
        lines.append(f"  due   {due_text(d)} ({d.timezone}) = {rfc3339(d.due)}")
        if d.status != "open":
            lines.append(f"  status {d.status}: nothing is sent for it")
        if d.after is not None:
            lines.append(f"  after {after_text(d.after)}")
        if nxt is not None:
            upcoming += 1
            lines.append(f"  next  {nxt.lead.iso} at {rfc3339(nxt.fire_at)}  -> {', '.join(nxt.targets)}")
        elif d.status != "open":
            lines.append(f"  next  none: it is {d.status}  -> {', '.join(d.channels)}")
        else:
            lines.append(f"  next  none: every alert has fired  -> {', '.join(d.channels)}")
        if d.due <= now:
            print(redact(f"{printable(str(d.source))}: warning: deadline {d.id!r} is already past ({rfc3339(d.due)})"),
                  file=err)
    if lines:
        print(redact("\n".join(lines)), file=out)
    n, c = len(config.deadlines), len(config.channels)
    print(f"config OK: {n} deadline{'s' if n != 1 else ''}, {c} channel{'s' if c != 1 else ''}, "
          f"{upcoming} with alerts still to fire, {len(config.files)} file{'s' if len(config.files) != 1 else ''}",
          file=out)
