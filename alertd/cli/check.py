"""`alertd check`: validate the config; print each deadline's resolved due and its next alert."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TextIO

from alertd.config import Config, load_or_report
from alertd.core.display import due_text, rfc3339
from alertd.core.planner import next_alert
from alertd.exitcodes import EX_FAIL, EX_OK
from alertd.redact import Redactor

__all__ = ["cmd_check", "write_check"]


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
        lines.append(f"{d.id}: {d.title}")
        lines.append(f"  due   {due_text(d)} ({d.timezone}) = {rfc3339(d.due)}")
        if nxt is not None:
            upcoming += 1
            lines.append(f"  next  {nxt.lead.iso} at {rfc3339(nxt.fire_at)}  -> {', '.join(d.channels)}")
        else:
            lines.append(f"  next  none: every alert has fired  -> {', '.join(d.channels)}")
        if d.due <= now:
            print(redact(f"{d.source}: warning: deadline {d.id!r} is already past ({rfc3339(d.due)})"),
                  file=err)
    if lines:
        print(redact("\n".join(lines)), file=out)
    n, c = len(config.deadlines), len(config.channels)
    print(f"config OK: {n} deadline{'s' if n != 1 else ''}, {c} channel{'s' if c != 1 else ''}, "
          f"{upcoming} with alerts still to fire, {len(config.files)} file{'s' if len(config.files) != 1 else ''}",
          file=out)
