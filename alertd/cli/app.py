"""The command line: `alertd check | plan | run | test | ics | status | demo | ack | snooze | done | reopen`,
one module per command.

Exit codes (alertd/exitcodes.py): 0 success; 1 the check or the action failed; 2 usage error;
`run` exits 78 (EX_CONFIG) when the config is invalid at start.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from alertd import __version__
from alertd.cli.check import cmd_check
from alertd.cli.common import UsageError
from alertd.cli.ics import cmd_ics
from alertd.cli.plan import PLAN_DAYS, cmd_plan
from alertd.core.state import Act
from alertd.exitcodes import EX_CONFIG, EX_INTERRUPTED, EX_USAGE
from alertd.settings import Settings, resolve_config_dir

__all__ = ["Parser", "build_parser", "main", "parse_command"]

STATUS_LIMIT = 10
STATUS_LIMIT_MAX = 100_000  # entries per part: more is not a status, and SQLite's LIMIT is 64-bit
DEFAULT_WATCH_TEXT = "2s"
DEMO_IN = "20s"


class Parser(argparse.ArgumentParser):
    """The `alertd` parser; `commands` maps each command to its own parser, whose usage its errors show."""

    commands: dict[str, argparse.ArgumentParser]


def build_parser() -> Parser:
    parser = Parser(prog="alertd", description="Deadline alerting daemon.")
    parser.add_argument("--version", action="version", version=f"alertd {__version__}")
    # Not required=True: argparse would then report a missing COMMAND before an unknown option
    # (`alertd --bogus`); `parse_command` checks both, the unknown first.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.commands = sub.choices

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
    p = with_config(sub.add_parser("status", help="each deadline's state, the next alerts, recent deliveries and "
                                                  "failures, from the ledger"))
    p.add_argument("ids", nargs="*", metavar="ID", help="only these deadlines")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object {"deadlines", "next", "recent", "failures"}')
    p.add_argument("-n", "--limit", type=int, default=STATUS_LIMIT, metavar="N",
                   help=f"show at most N entries in each part (default {STATUS_LIMIT})")
    p.add_argument("--url", metavar="URL", help="ask a daemon's HTTP API at URL instead of reading the ledger "
                                               "(the token from $ALERTD_API_TOKEN)")
    p = sub.add_parser("demo", help="watch a reminder and a deadline alert arrive: the daemon on a temporary config")
    p.add_argument("--in", dest="within", metavar="DURATION", default=DEMO_IN,
                   help=f"when the demo deadline is due (default {DEMO_IN}; from 2s to 1h); a reminder comes at "
                        "half of it")
    acts = {"ack": "acknowledged: no more repeats or escalation steps for the current due",
            "snooze": "hold every alert of ID until then (the latest held one per channel goes then)",
            "done": "dealt with: nothing more is sent for the current due",
            "reopen": "undo ack, snooze and done for the current due"}
    for name, text in acts.items():
        p = with_config(sub.add_parser(name, help=text, description=text))
        p.add_argument("deadline", metavar="ID")
        if name == "snooze":
            p.add_argument("duration", nargs="?", metavar="DURATION", help="how long: 30m, 2h, 1d, PT45M")
            p.add_argument("--until", metavar="T", help="until this RFC 3339 instant (or date, 00:00 UTC)")
        p.add_argument("--by", metavar="NAME", help="who (default: the invoking user)")
        if name != "reopen":
            p.add_argument("--note", metavar="TEXT", help="a short note shown with the notice")
    return parser


def parse_command(parser: Parser, argv: list[str] | None) -> argparse.Namespace:
    """The parsed command line; a usage error (exit 2) names what is wrong, under the usage of the
    command it concerns. argparse leaves a subcommand's unknown options to the top-level parser,
    which would show its own usage: they are reported here, by the command's parser."""
    args, unknown = parser.parse_known_args(argv)
    command = parser.commands.get(args.command) if args.command else None
    if (unknown and args.command == "snooze" and args.duration is None and len(unknown) == 1
            and (not unknown[0].startswith("-") or unknown[0][1:2].isdigit())):
        # `snooze ID -c DIR 2h`: argparse hands out positionals before an option; `-5m` too
        args.duration, unknown = unknown[0], []
    if unknown:
        (command or parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    if command is None:
        parser.error(f"the following arguments are required: COMMAND (one of {', '.join(parser.commands)})")
    return args


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_command(parser, argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            name = "ALERTD_" + "_".join(str(p) for p in err["loc"]).upper()
            # pydantic words a validator's refusal "Value error, ...": the reason is the rest
            print(f"alertd: {name}: {err['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        # For the daemon a bad setting is a configuration error: systemd's RestartPreventExitStatus=78
        # stops the unit instead of restarting it every few seconds into the same error.
        return EX_CONFIG if args.command == "run" else EX_USAGE
    config_dir = resolve_config_dir(getattr(args, "config", None), settings)  # `demo` has no -c
    now = datetime.now(UTC)  # the one clock read of a command; everything below is handed `now`
    try:
        if args.command == "check":
            return cmd_check(config_dir, now=now, out=sys.stdout, err=sys.stderr)
        if args.command == "plan":
            return cmd_plan(config_dir, now=now, start=args.start, end=args.end, as_json=args.json,
                            out=sys.stdout, err=sys.stderr)
        if args.command == "run":
            from alertd.cli.run import cmd_run  # noqa: PLC0415 - the daemon's imports would slow every other command

            return cmd_run(config_dir, settings, watch=args.watch)
        if args.command == "test":
            from alertd.cli.testsend import cmd_test  # noqa: PLC0415 - imports the HTTP and SMTP stacks

            return cmd_test(config_dir, args.channel, settings, now=now, out=sys.stdout, err=sys.stderr)
        if args.command == "ics":
            return cmd_ics(config_dir, now=now, out=sys.stdout, err=sys.stderr, settings=settings)
        if args.command == "status":
            from alertd.cli.status import cmd_status  # noqa: PLC0415 - imports the ledger

            if not 1 <= args.limit <= STATUS_LIMIT_MAX:
                raise UsageError(f"--limit {args.limit} must be from 1 to {STATUS_LIMIT_MAX:,}")
            if args.url:
                from alertd.cli.remote import cmd_status_url  # noqa: PLC0415 - imports httpx

                return cmd_status_url(args.url, settings, as_json=args.json, limit=args.limit, ids=args.ids,
                                      out=sys.stdout, err=sys.stderr)
            return cmd_status(config_dir, settings, now=now, as_json=args.json, limit=args.limit,
                              out=sys.stdout, err=sys.stderr, ids=args.ids)
        if args.command == "demo":
            from alertd.cli.demo import cmd_demo  # noqa: PLC0415 - imports the ledger

            return cmd_demo(args.within, out=sys.stdout)
        if args.command in ("ack", "snooze", "done", "reopen"):
            from alertd.cli.act import cmd_act, snooze_until  # noqa: PLC0415 - imports the ledger

            until = snooze_until(args.duration, args.until, now=now) if args.command == "snooze" else None
            return cmd_act(config_dir, settings, Act(args.command), args.deadline, by=args.by,
                           note=getattr(args, "note", None), until=until, clock=lambda: datetime.now(UTC),
                           out=sys.stdout, err=sys.stderr)
    except UsageError as exc:
        command = parser.commands[args.command]
        command.print_usage(sys.stderr)
        print(f"{command.prog}: error: {exc}", file=sys.stderr)
        return EX_USAGE
    except KeyboardInterrupt:
        return EX_INTERRUPTED
    raise AssertionError(args.command)  # pragma: no cover - argparse enforces the choices
