"""Fitting text into a service's limit: the measure each service uses, a visible mark, whole characters."""

from __future__ import annotations

import pytest

from alertd.delivery.channels.clip import MARK, clip_bytes, clip_chars, clip_utf16, utf8_len, utf16_len


@pytest.mark.parametrize(("clip", "measure"), [(clip_chars, len), (clip_utf16, utf16_len), (clip_bytes, utf8_len)])
@pytest.mark.parametrize("text", ["plain ascii " * 50, "🚀" * 300, "שלום עולם " * 60, "Ünïcödé 🚀 " * 80, "a🚀" * 150])
@pytest.mark.parametrize("limit", [20, 101, 256])
def test_a_clipped_text_fits_ends_with_the_mark_and_is_a_start_of_the_original(clip, measure, text: str,
                                                                                 limit: int) -> None:
    out = clip(text, limit)
    assert measure(out) <= limit
    assert out.endswith(MARK)
    assert text.startswith(out.removesuffix(MARK))
    out.encode("utf-8")  # never half a surrogate pair or a broken sequence


def test_text_that_fits_is_returned_unchanged() -> None:
    assert clip_utf16("🚀" * 10, 20) == "🚀" * 10
    assert clip_bytes("é" * 10, 20) == "é" * 10
    assert clip_utf16("🚀" * 11, 20) != "🚀" * 11  # 22 UTF-16 units: over


def test_the_measures_count_as_the_services_do() -> None:
    assert (len("a🚀é"), utf16_len("a🚀é"), utf8_len("a🚀é")) == (3, 4, 7)
