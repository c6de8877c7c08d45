"""Fitting text into a service's length limits: cut it and say so, never let the service refuse it.

Services count differently: Slack and Teams in characters, Discord and Telegram in UTF-16
code units (what their JavaScript clients measure: an emoji outside the BMP counts twice),
ntfy and Matrix in UTF-8 bytes. Each `clip_*` returns `text` unchanged when it fits, else
its start and the visible mark `MARK`, the whole within the limit. Text is cut between
code points, so a cut never leaves half a surrogate pair or half a UTF-8 sequence.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["MARK", "clip", "clip_bytes", "clip_chars", "clip_utf16", "utf8_len", "utf16_len"]

MARK = "… [cut]"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: characters above U+FFFF count twice."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def clip(text: str, limit: int, measure: Callable[[str], int] = len, mark: str = MARK) -> str:
    """`text` if `measure(text) <= limit`, else the longest start of it that fits with `mark` after it."""
    if measure(text) <= limit:
        return text
    room = limit - measure(mark)
    if room <= 0:
        return _longest_start(mark, limit, measure)
    return _longest_start(text, room, measure).rstrip() + mark


def clip_chars(text: str, limit: int) -> str:
    return clip(text, limit, len)


def clip_utf16(text: str, limit: int) -> str:
    return clip(text, limit, utf16_len)


def clip_bytes(text: str, limit: int) -> str:
    return clip(text, limit, utf8_len)


def _longest_start(text: str, limit: int, measure: Callable[[str], int]) -> str:
    """The longest prefix of `text` (whole code points) whose measure is at most `limit`."""
    if measure is len:
        return text[:limit]
    lo, hi = 0, min(len(text), limit)  # every measure here counts a code point as at least one
    while lo < hi:  # binary search: the measures grow with the prefix
        mid = (lo + hi + 1) // 2
        if measure(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]
