"""`alertd run [--watch [INTERVAL]]`: the daemon in the foreground (alertd/daemon)."""

from __future__ import annotations

from pathlib import Path

from alertd.cli.common import UsageError
from alertd.daemon.loop import run_daemon
from alertd.settings import Settings, parse_interval

__all__ = ["cmd_run"]


def cmd_run(config_dir: Path, settings: Settings, *, watch: str | None) -> int:
    """Run the daemon until it is stopped; returns its exit code. `watch` overrides ALERTD_WATCH."""
    if watch is not None:
        try:
            interval = parse_interval(watch)
        except ValueError as exc:
            raise UsageError(f"--watch: {exc}") from None
        settings = settings.model_copy(update={"watch": interval})
    return run_daemon(config_dir, settings)
