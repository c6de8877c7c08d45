"""The command line, one module per command; `main` is the console script `alertd`."""

from alertd.cli.app import main

__all__ = ["main"]
