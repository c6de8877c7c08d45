"""Config problems, collected and reported all at once as `PATH:LINE: message`."""

from __future__ import annotations

from dataclasses import dataclass

from alertd.core.display import printable

__all__ = ["ConfigError", "Problem", "SourceError"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One config error or warning, with its place and an optional hint."""

    path: str
    line: int | None
    message: str
    hint: str | None = None
    warning: bool = False

    def __str__(self) -> str:
        # Config text and file names can hold control characters: each part is escaped, so a problem
        # is one line (plus its hint's) however they were written.
        place = printable(f"{self.path}:{self.line}" if self.line else self.path)
        text = f"{place}: {'warning: ' if self.warning else ''}{printable(self.message)}"
        return text + (f"\n  hint: {printable(self.hint)}" if self.hint else "")


class ConfigError(Exception):
    """The config is invalid; `problems` holds every error found (and any warnings)."""

    def __init__(self, problems: list[Problem], secrets: frozenset[str] = frozenset()) -> None:
        self.problems = problems
        self.secrets = secrets  # values to redact from anything that shows these problems
        errors = [p for p in problems if not p.warning]
        super().__init__(f"{len(errors)} config error{'s' if len(errors) != 1 else ''}")

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.warning]


class SourceError(Exception):
    """A file that cannot be read or parsed; carries the line when known."""

    def __init__(self, message: str, line: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.hint = hint
