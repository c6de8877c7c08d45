"""Showing config problems to a person: one `PATH:LINE: message` each, secrets redacted.

The one printer for every command and the daemon's start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from alertd.config.load import Config, ConfigCache, load_config
from alertd.config.problems import ConfigError
from alertd.config.secretrefs import environ
from alertd.core.display import printable
from alertd.redact import Redactor

__all__ = ["load_or_report", "print_problems"]


def print_problems(exc: ConfigError, err: TextIO) -> None:
    """Every problem of an invalid config, one `PATH:LINE: message` each, secrets redacted."""
    redact = Redactor(exc.secrets)
    for problem in exc.problems:
        print(redact(str(problem)), file=err)


def load_or_report(config_dir: Path, err: TextIO, cache: ConfigCache | None = None) -> Config | None:
    """Load the config, or print every problem (secrets redacted) and a count, and return None.

    Warnings of a valid config are printed too.
    """
    try:
        config = load_config(config_dir, env=environ(), cache=cache)
    except ConfigError as exc:
        print_problems(exc, err)
        n = len(exc.errors)
        print(f"alertd: {n} error{'s' if n != 1 else ''} in {printable(str(config_dir))}", file=err)
        return None
    redact = Redactor(config.secrets)
    for problem in config.warnings:
        print(redact(str(problem)), file=err)
    return config
