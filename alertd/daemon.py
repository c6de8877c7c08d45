"""`alertd run`: placeholder foreground loop until the daemon issue lands.

It loads and validates the config (exit 78 when invalid) and waits for SIGTERM/SIGINT.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from alertd.settings import Settings

EX_CONFIG = 78


def run_daemon(config_dir: Path, settings: Settings) -> int:
    from alertd.cli import load_or_report  # noqa: PLC0415

    config = load_or_report(config_dir, sys.stderr)
    if config is None:
        return EX_CONFIG
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"alertd: loaded {len(config.deadlines)} deadlines from {config_dir}; waiting", file=sys.stderr)
    stop.wait()
    return 0
