"""The exit codes every command and the daemon share, defined once.

0 success; 1 the check or the action failed; 2 a usage error; 78 (EX_CONFIG, from
sysexits.h) when `alertd run` cannot start on its configuration. systemd's
`RestartPreventExitStatus=78` keeps a unit with a broken config from restarting in a loop.
"""

from __future__ import annotations

__all__ = ["EX_CONFIG", "EX_FAIL", "EX_INTERRUPTED", "EX_OK", "EX_USAGE"]

EX_OK = 0
EX_FAIL = 1
EX_USAGE = 2
EX_CONFIG = 78
EX_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
