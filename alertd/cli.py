"""The command line: `alertd check | plan | run | test | ics | status`, exit codes per the contract.

0 success; 1 the check or the action failed; 2 usage error; `run` exits 78 (EX_CONFIG)
when the config is invalid at start.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from alertd import __version__
from alertd.config import Config, ConfigCache, load_config
from alertd.display import due_text, rfc3339
from alertd.planner import next_alert, plan
from alertd.problems import ConfigError
from alertd.secrets import Redactor, environ
from alertd.settings import Settings, resolve_config_dir
from alertd.watch import parse_interval

__all__ = ["EX_CONFIG", "main"]

EX_OK, EX_FAIL, EX_USAGE, EX_CONFIG = 0, 1, 2, 78
PLAN_DAYS = 30
STATUS_LIMIT = 10
DEFAULT_WATCH_TEXT = "2s"


class UsageError(Exception):
    """A bad argument value argparse cannot check by itself."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alertd", description="Deadline alerting daemon.")
    parser.add_argument("--version", action="version", version=f"alertd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("-c", "--config", type=Path, metavar="DIR",
                       help="config directory (default: $ALERTD_CONFIG_DIR, "
                            "$CONFIGURATION_DIRECTORY, ./config)")
        return p

    with_config(sub.add_parser("check", help="validate the config; show each deadline's resolved due"))
    p = with_config(sub.add_parser("plan", help="list the alerts that fire in a window"))
    p.add_argument("--from", dest="start", metavar="T", help="RFC 3339 instant or date (default: now)")
    p.add_argument("--until", dest="end", metavar="T", help=f"end of the window (default: from + {PLAN_DAYS} days)")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p = with_config(sub.add_parser("run", help="run the daemon in the foreground"))
    p.add_argument("--watch", nargs="?", const=DEFAULT_WATCH_TEXT, metavar="INTERVAL",
                   help="reload when files in the config directory change, checked every INTERVAL "
                        f"(default {DEFAULT_WATCH_TEXT}; also $ALERTD_WATCH); SIGHUP works either way")
    p = with_config(sub.add_parser("test", help="send a test notification to CHANNEL now"))
    p.add_argument("channel", metavar="CHANNEL")
    with_config(sub.add_parser("ics", help="print an iCalendar feed of all deadlines, with their alerts as alarms"))
    p = with_config(sub.add_parser("status", help="the next alerts, recent deliveries and failures, from the ledger"))
    p.add_argument("--json", action="store_true", help='print one JSON object {"next", "recent", "failures"}')
    p.add_argument("-n", "--limit", type=int, default=STATUS_LIMIT, metavar="N",
                   help=f"show at most N entries in each part (default {STATUS_LIMIT})")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            name = "ALERTD_" + "_".join(str(p) for p in err["loc"]).upper()
            print(f"alertd: {name}: {err['msg']}", file=sys.stderr)
        return EX_USAGE
    config_dir = resolve_config_dir(args.config, settings)
    now = datetime.now(UTC)  # the one clock read of a command; everything below is handed `now`
    try:
        if args.command == "check":
            return cmd_check(config_dir, now=now, out=sys.stdout, err=sys.stderr)
        if args.command == "plan":
            return cmd_plan(config_dir, now=now, start=args.start, end=args.end, as_json=args.json,
                            out=sys.stdout, err=sys.stderr)
        if args.command == "run":
            from alertd.daemon import run_daemon  # noqa: PLC0415 - keep check/plan start-up light

            if args.watch is not None:
                settings = settings.model_copy(update={"watch": _watch_interval(args.watch)})
            return run_daemon(config_dir, settings)
        if args.command == "test":
            from alertd.testsend import cmd_test  # noqa: PLC0415

            return cmd_test(config_dir, args.channel, settings, now=now, out=sys.stdout, err=sys.stderr)
        if args.command == "ics":
            return cmd_ics(config_dir, now=now, out=sys.stdout, err=sys.stderr)
        if args.command == "status":
            from alertd.status import cmd_status  # noqa: PLC0415

            if args.limit < 1:
                raise UsageError(f"--limit {args.limit} must be at least 1")
            return cmd_status(config_dir, settings, now=now, as_json=args.json, limit=args.limit,
                              out=sys.stdout, err=sys.stderr)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"alertd: error: {exc}", file=sys.stderr)
        return EX_USAGE
    except KeyboardInterrupt:
        return 130
    raise AssertionError(args.command)  # pragma: no cover - argparse enforces the choices


def _watch_interval(text: str) -> timedelta | None:
    try:
        return parse_interval(text)
    except ValueError as exc:
        raise UsageError(f"--watch: {exc}") from None


def print_problems(exc: ConfigError, err: TextIO) -> None:
    """Every problem of an invalid config, one `PATH:LINE: message` each, secrets redacted."""
    redact = Redactor(exc.secrets)
    for problem in exc.problems:
        print(redact(str(problem)), file=err)


def load_or_report(config_dir: Path, err: TextIO, cache: ConfigCache | None = None) -> Config | None:
    """Load the config, or print every problem (secrets redacted) and return None."""
    try:
        config = load_config(config_dir, env=environ(), cache=cache)
    except ConfigError as exc:
        print_problems(exc, err)
        n = len(exc.errors)
        print(f"alertd: {n} error{'s' if n != 1 else ''} in {config_dir}", file=err)
        return None
    redact = Redactor(config.secrets)
    for problem in config.warnings:
        print(redact(str(problem)), file=err)
    return config


def cmd_check(config_dir: Path, *, now: datetime, out: TextIO, err: TextIO) -> int:
    config = load_or_report(config_dir, err)
    if config is None:
        return EX_FAIL
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
    return EX_OK


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
    return value.astimezone(UTC)


def cmd_plan(config_dir: Path, *, now: datetime, start: str | None, end: str | None, as_json: bool,
             out: TextIO, err: TextIO) -> int:
    t0 = parse_instant(start, "--from") if start else now
    t1 = parse_instant(end, "--until") if end else t0 + timedelta(days=PLAN_DAYS)
    if t1 < t0:
        raise UsageError("--until is before --from")
    config = load_or_report(config_dir, err)
    if config is None:
        return EX_FAIL
    redact = Redactor(config.secrets)
    alerts = plan(config.deadlines, start=t0, end=t1)
    if as_json:
        rows = [
            {"deadline": a.deadline.id, "lead": a.lead.iso, "fire_at": rfc3339(a.fire_at),
             "due": rfc3339(a.deadline.due), "channels": list(a.deadline.channels)}
            for a in alerts
        ]
        print(redact(json.dumps(rows, ensure_ascii=False)), file=out)
        return EX_OK
    if not alerts:
        print(f"no alerts from {rfc3339(t0)} until {rfc3339(t1)}", file=out)
        return EX_OK
    for a in alerts:
        print(redact(f"{rfc3339(a.fire_at)}  {a.lead.iso:<8} {a.deadline.id}  "
                     f"(due {due_text(a.deadline)})  -> {', '.join(a.deadline.channels)}"), file=out)
    return EX_OK


def cmd_ics(config_dir: Path, *, now: datetime, out: TextIO, err: TextIO) -> int:
    """Print the iCalendar feed (CRLF line endings, as RFC 5545 requires) of every deadline."""
    from alertd.ics import build_calendar  # noqa: PLC0415 - keep check/plan start-up light

    config = load_or_report(config_dir, err)
    if config is None:
        return EX_FAIL
    out.write(build_calendar(config.deadlines, now=now, redact=Redactor(config.secrets)))
    out.flush()
    return EX_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
