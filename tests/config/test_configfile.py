"""configfile.plain_entry: the schema's shortcut for plain entries must agree with pydantic."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from alertd.config.filepart import plain_entry
from alertd.config.schema import DeadlineEntry

VALUES = {  # the first value of each is valid
    "id": ["a", "x-1", "A", "", "a b", "a\n", "-a", "a" * 128, "a" * 129, 7, None],
    "title": ["T", "", "x" * 500, "x" * 501, "é" * 500, 12, True, None, ["T"]],
    "due": ["2021-05-21", "whenever", 20210521, None],
    "timezone": ["Europe/Moscow", "Mars/Base", "europe/moscow", "UTC", None, 3],
    "remind": [["1d", "0"], [], ["1d", 0], "1d", None, [["1d"]]],
    "channels": [["ops"], [], ["ops", 1], "ops", None],
    "notes": ["n", "", None, 5],
    "links": [["https://example.org"], [], "x", None],
    "tags": [["a", "b"], [], [True], None],
    "status": ["done", "open", "cancelled", "finished", "", None, 1],
    "repeat": ["30m", "0", None, 5, ["30m"]],
    "repeat_for": ["1d", None, 3],
    "escalate": [[{"after": "15m", "channels": ["ops"]}], [], None, "15m", [{"after": "1h"}]],
    "extra": ["x", "y"],
}


def _pydantic(item: object) -> dict | None:
    try:
        return DeadlineEntry.model_validate(item).model_dump(exclude_unset=True)
    except ValidationError:
        return None


@pytest.mark.parametrize("seed", range(4))
def test_plain_entry_takes_only_what_pydantic_accepts_unchanged(seed: int) -> None:
    rng = random.Random(seed)
    taken = 0
    for _ in range(3000):
        item = {k: v[0] if rng.random() < 0.6 else rng.choice(v) for k, v in VALUES.items()
                if k in ("id", "title", "due") or rng.random() < 0.4}
        if rng.random() < 0.05:
            del item[rng.choice(list(item))]
        fast = plain_entry(item)
        if fast is not None:
            taken += 1
            assert _pydantic(item) == {k: v for k, v in fast.items()}, item
    assert taken > 100  # the shortcut is really taken


def test_a_non_mapping_is_left_to_pydantic() -> None:
    assert plain_entry(["id", "x"]) is None
    assert plain_entry("id: x") is None
