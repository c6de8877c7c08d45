"""The yaml-rs fast path returns exactly what the PyYAML path (the event reader) returns, or declines."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml_rs

from alertd.config import fastyaml, load_config
from alertd.config.problems import ConfigError
from alertd.config.yamlread import read_yaml_events


def pyyaml_data(text: str) -> object:
    return read_yaml_events(text)[0]


def assert_exact_or_declined(text: str) -> bool:
    fast, data = fastyaml.load(text)
    if fast:
        assert data == pyyaml_data(text), text
    return fast


@pytest.mark.parametrize("text", [
    "due: 2021-05-21\nremind: [7d, 1d, 6h, 1h, 0]\n",
    "a: no\nb: off\nc: yes\nd: 12:30\n",
    "a: 0\nb: -7\nc: 42\nd: true\ne: false\n",
    "a: '~'\nb: \"null\"\nc: ''\n",
    "notes: >-\n  folded\n  text\n\n  para\nlit: |\n  one\n  two\n",
    "a: \"esc \\t \\u00e9 \\x41\"\nb: 'it''s'\nc: plain\n  continued\n",
    "---\n# comment\na: 1\n",
    "# lead comment\n---\na: 1\n",
    "deadlines:\n  - id: x\n    tags: [a, b]\n  - {id: y, due: 2021-05-21T24:00}\n",
    "title: Item 0 of 10, true story\n",
])
def test_plain_files_take_the_fast_path_and_read_the_same(text: str) -> None:
    assert assert_exact_or_declined(text)


@pytest.mark.parametrize("text", [
    "a: 00\n", "a: +1\n", "a: 1_0\n", "a: 0x1F\n", "a: 0o7\n", "a: 0b1\n", "a: -0\n", "a: _1\n",
    "a: True\n", "a: FALSE\n", "a: 1.5\n", "a: 1e3\n", "a: .inf\n", "a: [1, 007]\n",
    "a: !!str 5\n", "x: &x {a: b}\ny: *x\n", "x: &x {a: b}\ny:\n  <<: *x\n", "%YAML 1.2\n---\na: b\n",
    "a: b\n---\nc: d\n", "a: b\n...\n", "1: x\n", "? [a, b]\n: c\n", "a: b\na: c\n", "a: 'open\n",
    "{\"a\":00}\n", "a: ~\n", "a:\n", "a: [x, null]\n", "a: NULL\n",
])
def test_what_it_cannot_prove_goes_to_pyyaml(text: str) -> None:
    assert fastyaml.load(text) == (False, None)


TOKEN_ALPHABET = "0123456789_+-.xXoObBeEaAfF"


def test_every_token_yaml_rs_types_non_canonically_is_caught() -> None:
    """The token scan over-approximates: a typed, non-canonical token is always flagged."""
    rng = random.Random(6)
    words = [".inf", "-.Inf", "+.INF", ".nan", ".NaN", "True", "TRUE", "False", "Null", "nULL", "~", "tRUE"]
    tokens = words + ["".join(rng.choice(TOKEN_ALPHABET) for _ in range(rng.randint(1, 6))) for _ in range(3000)]
    for token in tokens:
        try:
            value = yaml_rs.loads(f"- {token}\n", parse_datetime=False)[0]
        except Exception:  # not a scalar on its own; nothing to check
            continue
        if type(value) in (list, dict, float) or value is None:
            continue  # not a scalar token, or a value the fast path declines anyway
        exact = (type(value) is str or (type(value) is int and str(value) == token)
                 or (type(value) is bool and token == ("true" if value else "false")))
        if exact:
            continue
        for text in (f"a: {token}\n", f"a: [x, {token}]\n", f"- {token} # c\n", f"a: {{b: {token}}}\n"):
            assert fastyaml.load(text) == (False, None), text


SCALARS = ["0", "1", "42", "-3", "00", "+1", "1_0", "0x1", "true", "True", "false", "no", "~", "null", "",
           "2021-05-21", "2021-05-21T18:00", "2021-05-21 18:00:00Z", "7d", "PT6H", "1.5", "'0'", '"true"',
           "a b", "a#b", "x: y", "'a: b'", "-", "- a", "[a, 0]", "{k: 0}", "\"\\x24{X}\"", "${X}", "Yes", ".5"]


def random_doc(rng: random.Random) -> str:
    lines = ["deadlines:"]
    for i in range(rng.randint(1, 4)):
        lines.append(f"  - id: d{i}")
        for key in rng.sample(["title", "due", "notes", "timezone", "remind", "tags"], 3):
            if key in ("remind", "tags"):
                items = ", ".join(rng.choice(SCALARS[:20]) or "x" for _ in range(rng.randint(0, 3)))
                lines.append(f"    {key}: [{items}]")
            else:
                lines.append(f"    {key}: {rng.choice(SCALARS)}")
    return "\n".join(lines) + "\n"


def test_random_documents_read_the_same_on_both_paths() -> None:
    rng = random.Random(21)
    taken = 0
    for _ in range(600):
        text = random_doc(rng)
        try:
            pyyaml_data(text)
        except Exception:  # PyYAML rejects it (syntax, duplicate key): so must the fast path
            assert fastyaml.load(text) == (False, None), text
            continue
        taken += assert_exact_or_declined(text)
    assert taken > 20  # the fast path is actually exercised


def write_config(tmp_path: Path, body: str) -> Path:
    (tmp_path / "a.yaml").write_text(
        "channels:\n  out:\n    type: console\ndefaults:\n  channels: [out]\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(body, encoding="utf-8")
    return tmp_path


def problems(directory: Path, *, fast_yaml: bool) -> list[str]:
    try:
        config = load_config(directory, env={}, fast_yaml=fast_yaml)
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return [str(p) for p in config.warnings] + [repr(d) for d in config.deadlines]


@pytest.mark.parametrize("body", [
    "deadlines:\n  - id: a\n    title: A\n    due: 2021-05-21\n    remind: [1d, 0]\n"
    "  - id: b\n    title: B\n    due: 2021-13-01\n    remidn: [1d]\n",
    "deadlines:\n  - id: a\n    title: A\n    due: 2021-03-28T02:30\n    timezone: Europe/London\n",
    "deadlines:\n  - id: a\n    title: A\n    due: 2021-05-21\n    remind: [00]\n",
    "deadlines:\n  - id: a\n    title: ${NOPE}\n    due: 2021-05-21\n",
    "deadlines:\n  - id: a\n    title: A\n    due: 2021-05-21\n  - id: a\n    title: A\n    due: 2021-05-22\n",
])
def test_errors_and_warnings_name_the_same_lines_on_both_paths(tmp_path: Path, body: str) -> None:
    directory = write_config(tmp_path, body)
    assert problems(directory, fast_yaml=True) == problems(directory, fast_yaml=False)


@pytest.mark.parametrize("text", [
    "a:\n\t- b\n", "a: [b\n", "a: b\n c: d\n", "- a\nb: c\n", "a: 'x'y\n", "a: \"\\q\"\n", "a: @b\n",
    "a: `b\n", "a: b # c\n#d\n", "? a\n", "a: |\n x\n  y\n", "a: >\n\n  b\n", "a: b\tc\n", "a:    \n",
    "[a, b]: c\n", "{a: b}\n", "a: {b: c\n", "a: b: c\n", "a:\n  - b\n  c: d\n", "a: 'b\n  c'\n",
    "a: \"b\\\n  c\"\n", "a: -b\n", "a: - b\n", "- - a\n  - b\n", "a: |2\n   x\n", "a: |-\n  x\n\n", "a: >+\n  x\n\n",
    "a: b\n  # c\n", "a: \"\\u00e9\\N\\_\"\n", "'a': b\n\"c\": d\n", "a: [b, c,]\n", "a: {b, c}\n", "a: b\r\nc: d\r\n",
    "\ufeffa: b\n", "a: \u2028b\n", "a: b\x85c\n", "a: b\x01c\n", "a: b\x7fc\n", "a: b\rc: d\r", "a: b\x9fc\n",
    "a: b\ufffec\n", "a: \u00e9\u4e2d\U0001f600\n",
])
def test_odd_syntax_is_read_the_same_or_rejected_the_same(text: str) -> None:
    try:
        pyyaml_data(text)
    except Exception:  # PyYAML (or the duplicate-key check) rejects it: the fast path must decline
        assert fastyaml.load(text) == (False, None), text
        return
    assert_exact_or_declined(text)


SEED_DOC = """defaults:
  timezone: Europe/Moscow
  remind: [7d, 1d, 6h, 1h, 0]
deadlines:
  - id: us-diplomats-leave-russia
    title: Ten US diplomats must leave Russia
    due: 2021-05-21
    notes: >-
      Moscow's mirror response,
      on 15 April 2021.
    tags: [russia, usa]
  - {id: b, title: "B \\u00e9", due: '2021-05-21T18:00'}
  - id: c
    remind: [0, 90m]
    title: 'it''s'
"""
MUTATIONS = list(" \t\n-:,[]{}#'\"|>?!&*%@`0aT.+_\\")


def test_mutated_documents_are_read_the_same_or_rejected_the_same() -> None:
    """Seeded mutations of a real config: wherever PyYAML and yaml-rs might disagree."""
    rng = random.Random(605)
    taken = 0
    for _ in range(1500):
        chars = list(SEED_DOC)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(chars))
            op = rng.randrange(3)
            if op == 0:
                chars.insert(pos, rng.choice(MUTATIONS))
            elif op == 1:
                del chars[pos]
            else:
                chars[pos] = rng.choice(MUTATIONS)
        text = "".join(chars)
        try:
            pyyaml_data(text)
        except Exception:  # PyYAML (or the duplicate-key check) rejects it: the fast path must decline
            assert fastyaml.load(text) == (False, None), text
            continue
        taken += assert_exact_or_declined(text)
    assert taken > 300
