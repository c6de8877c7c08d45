"""The bounds on what a config file may make alertd do, each with its own clear error.

A config file is operator input, but a careless or hostile one must not take the daemon
down or make `alertd check` run for minutes: every parser here works in time and memory
linear in the file, and these caps keep that line short. The README's operations section
lists them; a file over a cap is an error naming the file and line, never a crash.
"""

from __future__ import annotations

__all__ = ["MAX_ALIAS_BASE", "MAX_ALIAS_RATIO", "MAX_DEPTH", "MAX_DIGITS", "MAX_FILE_BYTES", "MAX_SCALAR"]

MAX_FILE_BYTES = 2 * 1024 * 1024  # one file, about 9,000 deadlines; a larger config is split into files
MAX_DEPTH = 64  # nesting of mappings and lists; a valid config needs 5
MAX_SCALAR = 65_536  # characters in one value or key
MAX_DIGITS = 1_000  # a run of digits in a TOML file (Python's int() of long numbers is quadratic)
# YAML aliases may add at most this many values to a file, plus this many per value written: an
# "alias bomb" of a few hundred bytes would otherwise expand to billions of values.
MAX_ALIAS_BASE = 100_000
MAX_ALIAS_RATIO = 4
