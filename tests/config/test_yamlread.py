"""The event reader reads YAML exactly as `yaml.compose` and a recursive walk did, and stays bounded.

Exactness: the same data, deadline lines and line of every path, or both reject, over generated
and mutated documents with anchors, aliases and merge keys (tests/config/yaml_reference.py is the
old reading). Bounds: hostile shapes are refused at their line, fast.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from alertd.config.limits import MAX_ALIAS_BASE, MAX_DEPTH, MAX_SCALAR
from alertd.config.problems import SourceError
from alertd.config.sources import _yaml_events
from alertd.config.yamlread import line_in, read_yaml_events
from tests.config import yaml_reference as ref
from tests.config.test_fastyaml import MUTATIONS, SEED_DOC, random_doc

MERGE_DOC = """base: &base
  timezone: Europe/Moscow
  remind: &leads [7d, 1d, 0]
  tags: [a, b]
other: &other {channels: [x], notes: n}
defaults:
  <<: *base
deadlines:
  - <<: [*base, *other]
    id: one
    title: &t Title
    due: 2021-05-21
  - id: two
    <<: *other
    title: *t
    remind: *leads
    notes: own
  - &three
    id: three
    due: ~
  - *three
"""


def locs_of(data: Any, prefix: tuple = (), depth: int = 4) -> list[tuple]:
    """Every path into `data` up to `depth`, plus some that lead nowhere."""
    out = [prefix, (*prefix, "nope"), (*prefix, 99)]
    if depth == 0:
        return out
    if isinstance(data, dict):
        for k, v in data.items():
            out += locs_of(v, (*prefix, k), depth - 1)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += locs_of(v, (*prefix, i), depth - 1)
    return out


def assert_same_reading(text: str) -> bool:
    """True when both accept `text` and agree on everything; False when both reject it."""
    try:
        expected = ref.reference_data(text)
    except Exception:
        with pytest.raises((SourceError, ref.yaml.YAMLError)):
            read_yaml_events(text)
        return False
    try:
        data, item_lines, _ = read_yaml_events(text)
    except SourceError as exc:
        # The one place the old reading was laxer: a merge source's non-scalar key (`<<: [*a: x]`)
        # was skipped without a word. It is an error wherever it is written now.
        if str(exc) != "a mapping key must be a plain value":
            raise
        return False
    assert data == expected, text
    node = ref.compose(text)
    old_items = ref.deadline_lines(node)
    assert item_lines.items() <= old_items.items(), text  # an aliased list's lines come from the tree
    lines = read_yaml_events(text, lines=True)[2]
    for loc in locs_of(data):
        assert line_in(lines, loc) == ref.yaml_line(node, loc), (text, loc)
    return True


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(len(chars))
        op = rng.randrange(3)
        if op == 0:
            chars.insert(pos, rng.choice(MUTATIONS))
        elif op == 1:
            del chars[pos]
        else:
            chars[pos] = rng.choice(MUTATIONS)
    return "".join(chars)


def test_merge_keys_and_aliases_read_as_before() -> None:
    assert assert_same_reading(MERGE_DOC)


@pytest.mark.parametrize("seed_doc", [SEED_DOC, MERGE_DOC])
def test_mutated_documents_read_the_same_or_are_rejected_by_both(seed_doc: str) -> None:
    rng = random.Random(1313)
    accepted = sum(assert_same_reading(mutate(rng, seed_doc)) for _ in range(1200))
    assert accepted > 300  # the comparison is not only of rejections


def test_random_documents_read_the_same() -> None:
    rng = random.Random(14)
    assert sum(assert_same_reading(random_doc(rng)) for _ in range(300)) > 100


@pytest.mark.parametrize("text", [
    "", "# only a comment\n", "~\n", "- a\n- b\n", "a: !!str null\nb: !!str\nc: ''\n", "a: &x b\n*x : c\n",
    "<<: {a: 1}\na: 2\n", "'<<': {a: 1}\n", "!!merge x: {a: 1}\n", "a: 1\n<<: [{b: 2}, {b: 3, c: 4}]\n",
    "a: &a {b: 1}\nc: {<<: *a, <<: {d: 2}}\n", "a: b\n---\nc: d\n", "a: *nowhere\n", "a: &x 1\nb: &x 2\n",
    "a: &x [*x]\n", "<<: 1\n", "<<: [1]\n", "? [a]\n: b\n", "a: &k {b: 1}\n*k : 2\n",
])
def test_edge_cases_read_the_same_or_are_rejected_by_both(text: str) -> None:
    assert_same_reading(text)


def rejected_at(text: str) -> tuple[str, int | None]:
    """The message and line `text` is refused with, through the reader every file goes through."""
    start = time.process_time()
    with pytest.raises(SourceError) as caught:
        _yaml_events(text)
    assert time.process_time() - start < 2.0, "a bound must be found early, not after the work"
    return str(caught.value), caught.value.line


@pytest.mark.parametrize("shape", ["flow list", "flow map", "compact list", "indented map"])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_nesting_deeper_than_the_limit_is_refused_at_its_line(shape: str, depth: int) -> None:
    text = {
        "flow list": "x: " + "[" * depth + "]" * depth + "\n",
        "flow map": "x: " + "{a: " * depth + "b" + "}" * depth + "\n",
        "compact list": "x: 1\ny:\n" + "- " * depth + "b\n",
        "indented map": "".join(" " * i + "a:\n" for i in range(min(depth, 3000))),
    }[shape]
    message, line = rejected_at(text)
    assert "nested more than" in message or "maximum nesting depth" in message, message
    assert line is not None and line >= 1
    if shape == "indented map":
        assert line == MAX_DEPTH + 1


def test_the_limit_itself_is_allowed() -> None:
    data, _, _ = read_yaml_events("[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n")
    for _ in range(MAX_DEPTH - 1):
        data = data[0]
    assert data == []


def test_an_alias_bomb_is_refused_at_the_alias_that_passes_the_bound() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    message, line = rejected_at("\n".join(lines) + "\n")
    assert "aliases expand this file beyond the limit" in message
    assert line == 6  # 9**6 values from aliases passes 100,000 on the sixth line


def test_a_merge_bomb_is_refused_too() -> None:
    keys = ", ".join(f"k{i}: v" for i in range(1000))
    text = f"a: &a {{{keys}}}\n" + "".join(f"m{i}: {{<<: *a}}\n" for i in range(MAX_ALIAS_BASE // 500))
    message, _ = rejected_at(text)
    assert "aliases expand" in message


def test_aliases_within_the_bound_share_one_value() -> None:
    data, _, _ = read_yaml_events("a: &a [1, 2]\nb: *a\nc: *a\n")
    assert data["b"] is data["a"] and data["c"] is data["a"]


@pytest.mark.parametrize("text", ["a: &x [*x]\n", "a: &x {b: *x}\n", "a: &x {<<: *x}\n", "- &x [[[*x]]]\n"])
def test_an_alias_inside_its_own_anchor_is_a_cycle(text: str) -> None:
    message, line = rejected_at(text)
    assert "cycle" in message and line == 1


@pytest.mark.parametrize("text", [f"a: {'x' * (MAX_SCALAR + 1)}\n", f"a: '{'x' * (MAX_SCALAR + 1)}'\n",
                                  f"? {'k' * (MAX_SCALAR + 1)}\n: v\n", "a: |\n" + f"  {'y' * 100}\n" * 700])
def test_a_value_longer_than_the_limit_is_refused(text: str) -> None:
    message, line = rejected_at("ok: 1\n" + text)
    assert "longer than the limit" in message and line == 2
