"""`alertd demo [--in DURATION]`: watch a reminder and a deadline alert arrive on the console.

It runs the real daemon (`alertd run`, as a child process) on a temporary config and state
directory, so nothing of the user's is read or written, and stops once the alert at the due has
been delivered. The deadline is added by a reload once the daemon is ready (it tells us over the
systemd notify protocol, on a socket of our own), so its due is DURATION after the daemon was
ready to take it, however long start-up took. The daemon's log goes to our standard error, in
its usual format (readable on a terminal, JSON otherwise): that is the demonstration.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from alertd.cli.common import UsageError
from alertd.core.display import humanize_seconds, rfc3339
from alertd.core.leads import Lead, LeadError, parse_lead
from alertd.core.notification import delivery_key
from alertd.exitcodes import EX_FAIL, EX_INTERRUPTED, EX_OK
from alertd.store.ledger import LEDGER_FILE, Ledger, LedgerError

__all__ = ["cmd_demo"]

MIN_IN, MAX_IN = 2, 3600  # seconds
START_TIMEOUT = 120.0  # seconds for the daemon to start or to reload; a loaded machine can be slow
DEMO_ID = "alertd-demo"
CHANNEL = "console"

_CHANNELS = f"""\
# alertd demo: a console channel; the deadline is added once the daemon is ready.
channels:
  {CHANNEL}:
    type: console
"""


def _deadline(due: datetime, lead: int) -> str:
    return f"""\
deadlines:
  - id: {DEMO_ID}
    title: Your first alertd deadline
    due: {rfc3339(due)}
    remind: [{lead}s, 0]
    channels: [{CHANNEL}]
    notes: This is alertd demo. Your own deadlines go in config/; see the README's quickstart.
"""


class _NotifySocket:
    """A systemd-style NOTIFY_SOCKET (abstract unix datagram socket) to learn when the daemon is ready."""

    def __init__(self) -> None:
        self.name = f"@alertd-demo-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind("\0" + self.name[1:])

    def wait_ready(self, child: subprocess.Popen[bytes], timeout: float) -> bool:
        """True at the next READY=1; False if the child exits or `timeout` passes first."""
        end = time.monotonic() + timeout
        while child.poll() is None and time.monotonic() < end:
            self.sock.settimeout(0.2)
            try:
                message = self.sock.recv(4096).decode(errors="replace")
            except TimeoutError:
                continue
            if "READY=1" in message.splitlines():
                return True
        return False

    def close(self) -> None:
        self.sock.close()


def _child_env(state: Path, notify: str) -> dict[str, str]:
    """The user's environment, minus whatever would make the child share something with a real
    daemon (metrics port, config and state directories, systemd's watchdog) or hide its log."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ALERTD_METRICS_ADDR", "ALERTD_CONFIG_DIR", "ALERTD_WATCH", "CONFIGURATION_DIRECTORY",
                        "STATE_DIRECTORY", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID")}
    return env | {"ALERTD_STATE_DIR": str(state), "ALERTD_LOG_LEVEL": "info", "NOTIFY_SOCKET": notify}


def _sent(ledger_path: Path, key: str) -> bool:
    try:
        with Ledger.open_readonly(ledger_path) as ledger:
            row = ledger.get(key)
    except LedgerError:
        return False
    return row is not None and row.state == "sent"


def cmd_demo(within: str, *, out: TextIO) -> int:
    """Run the demonstration with the deadline due `within` (`20s`, `1m`) after the daemon is ready;
    0 once the at-deadline alert was delivered, 1 if it was not."""
    try:
        span = parse_lead(within)
    except LeadError:
        seconds = None
    else:
        seconds = span.days * 86400 + span.seconds
    if seconds is None or not MIN_IN <= seconds <= MAX_IN:
        raise UsageError(f"--in {within!r}: give a duration from {MIN_IN}s to 1h, such as 20s, 1m or 1m30s")

    def say(text: str) -> None:
        print(f"alertd demo: {text}", file=out, flush=True)

    with tempfile.TemporaryDirectory(prefix="alertd-demo-") as tmp:
        config, state = Path(tmp) / "config", Path(tmp) / "state"
        config.mkdir()
        (config / "demo.yaml").write_text(_CHANNELS, encoding="utf-8")
        notify = _NotifySocket()
        say(f"starting `alertd run` on a temporary config and state in {tmp} (yours are not touched)")
        child = subprocess.Popen([sys.executable, "-m", "alertd.cli", "run", "-c", str(config)],  # noqa: S603 - our own interpreter and arguments
                                 env=_child_env(state, notify.name), stdin=subprocess.DEVNULL)
        try:
            return _demonstrate(child, notify, config=config, state=state, seconds=seconds, say=say)
        except KeyboardInterrupt:  # Ctrl-C reached the child too (same process group): it stops by itself
            return EX_INTERRUPTED
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
            try:
                child.wait(START_TIMEOUT)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            notify.close()


def _demonstrate(child: subprocess.Popen[bytes], notify: _NotifySocket, *, config: Path, state: Path,
                 seconds: int, say: Callable[[str], None]) -> int:
    if not notify.wait_ready(child, START_TIMEOUT):
        say(f"the daemon did not start (exit status {child.poll()})")
        return EX_FAIL
    lead = seconds // 2
    due = (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)
    (config / "demo.yaml").write_text(_CHANNELS + _deadline(due, lead), encoding="utf-8")
    child.send_signal(signal.SIGHUP)
    say(f"added a deadline due at {rfc3339(due)}, in {humanize_seconds(seconds)}, with a reminder "
        f"{humanize_seconds(lead)} before it and an alert at the due, on the console channel; "
        "they arrive as alert.console events")
    if not notify.wait_ready(child, START_TIMEOUT):
        say(f"the daemon did not reload (exit status {child.poll()})")
        return EX_FAIL
    key = delivery_key(DEMO_ID, Lead(), due, CHANNEL)
    give_up = time.monotonic() + seconds + START_TIMEOUT
    while not _sent(state / LEDGER_FILE, key):
        if child.poll() is not None or time.monotonic() > give_up:
            say("the alert at the due did not arrive" + (f" (the daemon exited with {child.poll()})"
                                                          if child.poll() is not None else ""))
            return EX_FAIL
        time.sleep(0.2)
    say("the alert at the due arrived; stopping the daemon. Next: `make run` (or `alertd run`) on your own "
        "config, as the README's quickstart shows")
    child.send_signal(signal.SIGTERM)
    child.wait(START_TIMEOUT)
    return EX_OK
