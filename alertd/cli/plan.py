"""`alertd plan`: the alerts whose fire instant is in [--from, --until), as text or JSON.

Repeats and escalation steps (negative leads) are listed too, with the channels each reaches;
deadlines whose config says done or cancelled are not (they send nothing).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from alertd.cli.common import UsageError, parse_instant
from alertd.config import load_or_report
from alertd.core.display import due_text, rfc3339, rfc3339_seconds
from alertd.core.overview import plan_item
from alertd.core.planner import plan
from alertd.exitcodes import EX_FAIL, EX_OK
from alertd.redact import Redactor

__all__ = ["PLAN_DAYS", "cmd_plan"]

PLAN_DAYS = 30


def cmd_plan(config_dir: Path, *, now: datetime, start: str | None, end: str | None, as_json: bool,
             out: TextIO, err: TextIO) -> int:
    t0 = parse_instant(start, "--from") if start else now
    try:
        t1 = parse_instant(end, "--until") if end else t0 + timedelta(days=PLAN_DAYS)
    except OverflowError:  # --from within 30 days of the end of the year 9999
        raise UsageError(f"--from {start!r} leaves no room for the default {PLAN_DAYS}-day window before the end "
                         "of the year 9999: give --until") from None
    if t1 < t0:
        raise UsageError("--until is before --from")
    config = load_or_report(config_dir, err)
    if config is None:
        return EX_FAIL
    redact = Redactor(config.secrets)
    alerts = plan(config.deadlines, start=t0, end=t1)
    if as_json:
        rows = [plan_item(a) for a in alerts]
        print(redact(json.dumps(rows, ensure_ascii=False)), file=out)
        return EX_OK
    if not alerts:
        print(f"no alerts from {rfc3339_seconds(t0)} until {rfc3339_seconds(t1)}", file=out)
        return EX_OK
    for a in alerts:
        what = f"  [escalation step {a.step}]" if a.step else "  [overdue]" if a.lead.is_after_due else ""
        print(redact(f"{rfc3339(a.fire_at)}  {a.lead.iso:<8} {a.deadline.id}  "
                     f"(due {due_text(a.deadline)})  -> {', '.join(a.targets)}{what}"), file=out)
    return EX_OK
