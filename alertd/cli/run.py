"""`alertd run [--watch [INTERVAL]]`: the daemon in the foreground (alertd/daemon), with the HTTP
surface (alertd/web) as its service when ALERTD_HTTP_ADDR is set."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import SecretStr

from alertd.cli.common import UsageError
from alertd.daemon.loop import run_daemon
from alertd.daemon.services import Service
from alertd.exitcodes import EX_CONFIG
from alertd.settings import Settings, link_secret, parse_interval
from alertd.web.server import WebServer, WebSetupError

__all__ = ["cmd_run"]


def cmd_run(config_dir: Path, settings: Settings, *, watch: str | None) -> int:
    """Run the daemon until it is stopped; returns its exit code. `watch` overrides ALERTD_WATCH."""
    if watch is not None:
        try:
            interval = parse_interval(watch)
        except ValueError as exc:
            raise UsageError(f"--watch: {exc}") from None
        settings = settings.model_copy(update={"watch": interval})
    try:
        secret = link_secret(settings)  # the variable, else the credential: from here on, one place
    except ValueError as exc:
        print(f"alertd: {exc}", file=sys.stderr)
        return EX_CONFIG
    if secret is not None:
        settings = settings.model_copy(update={"link_secret": SecretStr(secret)})
    services: list[Service] = []
    if settings.http_addr:
        try:
            services.append(WebServer.bind(settings))
        except WebSetupError as exc:
            print(f"alertd: error: {exc}", file=sys.stderr)
            return EX_CONFIG
    return run_daemon(config_dir, settings, services)
