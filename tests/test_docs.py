"""The documentation stays true: links resolve, shown output is alertd's, the examples run.

Conventions in README.md and docs/*.md that this file relies on:

- `<!-- file: REL -->` before a fenced block: the block is the file REL of the examples; every
  such file is written into one scratch directory before any command runs.
- `<!-- verified -->` before a ```console block: its first line is `$ alertd ARGS` and the rest
  is what the command prints, run in that scratch directory (where `config` is a copy of the
  repository's `config/`). Standard output only, or standard error then standard output
  when the command ends in `2>&1`.
- `<!-- payload: ... -->` before the ```json block of docs/webhook.md, and `<!-- receiver -->`
  before its ```python block.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alertd.config import load_config
from alertd.core.leads import parse_lead
from alertd.core.notification import Notification
from alertd.delivery.channels.base import SendContext
from alertd.delivery.channels.webhook import WebhookSender, payload

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS, ROOT / "systemd" / "README.md"]
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

_FENCE = re.compile(r"^(`{3,})(\S*)\s*$")
_MARK = re.compile(r"^<!--\s*(.*?)\s*-->$")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence
    lang: str
    mark: str | None  # the HTML comment just before the fence
    text: str


def blocks(page: Path) -> list[Block]:
    out: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, fence = i, m.group(1)
        mark = None
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and (c := _MARK.match(lines[j].strip())):
            mark = c.group(1)
        i += 1
        while i < len(lines) and lines[i].rstrip() != fence:
            i += 1
        assert i < len(lines), f"{page}:{start + 1}: unclosed code block"
        out.append(Block(page, start + 1, m.group(2), mark, "\n".join(lines[start + 1:i]) + "\n"))
        i += 1
    return out


def prose(page: Path) -> str:
    """The page without its fenced blocks (links inside code are not links)."""
    text = page.read_text(encoding="utf-8")
    return re.sub(r"^(`{3,}).*?^\1\s*$", "", text, flags=re.MULTILINE | re.DOTALL)


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    found: set[str] = set()
    for line in prose(page).splitlines():
        m = _HEADING.match(line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(2).strip().lower()).replace(" ", "-")
            found.add(slug)
    return found


def marked(mark: str) -> list[Block]:
    return [b for page in PAGES for b in blocks(page) if b.mark == mark]


# -- links ----------------------------------------------------------------------------------------

def test_the_docs_exist_and_the_readme_links_each_of_them() -> None:
    names = {p.name for p in DOCS}
    assert {"config.md", "time-rules.md", "webhook.md", "cli.md", "ledger.md"} <= names
    readme = prose(ROOT / "README.md")
    for name in names:
        assert f"(docs/{name})" in readme, f"README.md does not link docs/{name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_to_a_file_in_the_repository(page: Path) -> None:
    broken = []
    for target in _LINK.findall(re.sub(r"`[^`\n]+`", "", prose(page))):  # nor inside inline code
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path_part, _, fragment = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.is_relative_to(ROOT) or not dest.exists():
            broken.append(f"{target}: no such file in the repository")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{target}: no heading #{fragment} in {dest.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)


def test_nothing_in_the_repository_points_outside_it() -> None:
    """Internal notes live outside the repository; nothing in it may send a reader there."""
    needles = ("DESIGN" + ".md", "../" + "shared")
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                                text=True, check=True, timeout=60).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file but the ignored kinds
        skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "build", "state", "work"}
        listed = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                  if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]
    hits = []
    for rel in listed:
        path = ROOT / rel
        if not path.is_file():  # deleted but not yet committed
            continue
        text = path.read_bytes().decode("utf-8", "replace")
        hits += [f"{rel}: {needle}" for needle in needles if needle in text]
    assert not hits, "references to files outside the repository:\n" + "\n".join(hits)


# -- shown output is alertd's ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch directory with every `<!-- file: -->` block written out and a copy of config/."""
    root = tmp_path_factory.mktemp("doc-examples")
    shutil.copytree(ROOT / "config", root / "config")
    for b in marked_files():
        rel = b.mark.removeprefix("file:").strip()  # type: ignore[union-attr]
        dest = root / rel
        assert dest.resolve().is_relative_to(root), f"{b.page}:{b.line}: {rel} leaves the examples"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(b.text, encoding="utf-8")
    return root


def marked_files() -> list[Block]:
    return [b for page in PAGES for b in blocks(page) if b.mark and b.mark.startswith("file:")]


VERIFIED = marked("verified")


def test_the_time_rules_examples_are_among_the_verified_blocks() -> None:
    assert any(b.page.name == "time-rules.md" and "alertd plan -c examples" in b.text for b in VERIFIED)


@pytest.mark.parametrize("block", VERIFIED, ids=lambda b: f"{b.page.name}:{b.line}")
def test_a_verified_block_shows_what_alertd_prints(block: Block, examples: Path) -> None:
    assert block.lang == "console", f"{block.page.name}:{block.line}: a verified block must be ```console"
    command, _, expected = block.text.partition("\n")
    assert command.startswith("$ alertd "), f"{block.page.name}:{block.line}: starts with {command!r}"
    args = shlex.split(command.removeprefix("$ alertd "))
    both = args[-1:] == ["2>&1"]
    if both:
        args = args[:-1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "CREDENTIALS_", "CONFIGURATION_"))}
    result = subprocess.run([sys.executable, "-m", "alertd.cli", *args], cwd=examples, capture_output=True,
                            text=True, env=env, timeout=60, check=False)
    shown = result.stderr + result.stdout if both else result.stdout
    assert shown == expected, (f"{block.page.name}:{block.line}: `{command}` prints something else "
                               f"(exit {result.returncode}):\n{shown}")


# -- the webhook page -----------------------------------------------------------------------------

def test_the_example_payload_is_the_one_alertd_sends() -> None:
    """The P1D reminder of the shipped deadline, to a channel `audit`, sent at 2021-05-20T21:00:00.012Z."""
    [block] = [b for b in blocks(ROOT / "docs" / "webhook.md") if (b.mark or "").startswith("payload:")]
    deadline = load_config(ROOT / "config", env={}).deadlines[0]
    lead = parse_lead("1d")
    note = Notification.for_alert(deadline, lead, deadline.fire_at(lead), "audit")
    sent = payload(note, now=datetime(2021, 5, 20, 21, 0, 0, 12000, tzinfo=UTC))
    assert json.loads(block.text) == sent


def receiver_script(tmp_path: Path) -> Path:
    [block] = [b for b in blocks(ROOT / "docs" / "webhook.md") if b.mark == "receiver"]
    assert block.lang == "python"
    script = tmp_path / "receiver.py"
    script.write_text(block.text, encoding="utf-8")
    return script


def webhook_config(tmp_path: Path, url: str, secret: str) -> Path:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "channels.yaml").write_text(
        f"channels:\n  audit:\n    type: webhook\n    url: {url}\n    secret: ${{AUDIT_SECRET}}\n", encoding="utf-8")
    return config


@pytest.mark.slow
def test_the_receiver_example_verifies_and_accepts_what_alertd_signs(tmp_path: Path) -> None:
    """The page's receiver, run as written, against `alertd test` with the same and another key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "CREDENTIALS_"))}
    receiver = subprocess.Popen([sys.executable, str(receiver_script(tmp_path))], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env={**env, "WEBHOOK_SECRET": SECRET, "PORT": "0"})
    try:
        first = receiver.stdout.readline()  # type: ignore[union-attr]
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        assert m, f"the receiver did not say where it listens: {first!r} {receiver.stderr.read()}"  # type: ignore[union-attr]
        config = webhook_config(tmp_path, m.group(0), SECRET)

        def alertd_test(secret: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "alertd.cli", "test", "audit", "-c", str(config)],
                                  capture_output=True, text=True, env={**env, "AUDIT_SECRET": secret}, timeout=60,
                                  check=False)

        accepted = alertd_test(SECRET)
        assert accepted.returncode == 0, accepted.stderr
        line = receiver.stdout.readline()  # type: ignore[union-attr]
        assert line.split() == ["alertd.test", "alertd-test", "P1D", "sent", "at", line.split()[-1]]

        # Requests from alertd's own signer: a repeat is accepted and dropped, a changed body refused.
        channel = load_config(config, env={"AUDIT_SECRET": SECRET}).channels["audit"]
        sender = WebhookSender("audit", channel, SendContext(http=None))  # type: ignore[arg-type] - request() sends nothing
        deadline = load_config(ROOT / "config", env={}).deadlines[0]
        note = Notification.for_alert(deadline, parse_lead("0"), deadline.due, "audit", late_by_seconds=3600)
        body, headers = sender.request(note, now=datetime.now(UTC))
        assert post(m.group(0), body, headers) == 204
        assert post(m.group(0), body, headers) == 204
        assert post(m.group(0), body.replace(b"Ten US", b"Six US"), headers) == 400
        line = receiver.stdout.readline()  # type: ignore[union-attr]
        assert line.split()[:4] == ["deadline.due", "us-diplomats-leave-russia", "PT0S", "sent"]

        other = "whsec_" + "c2VjcmV0LWtleS1vZi1hbm90aGVyLWNoYW5uZWw="
        refused = alertd_test(other)
        assert refused.returncode == 1
        assert "failed (permanent): HTTP 400" in refused.stderr
        assert other not in refused.stderr
    finally:
        receiver.terminate()
        receiver.wait(10)
    assert receiver.stdout.read() == "", "the repeat or the refused requests were printed as alerts"  # type: ignore[union-attr]


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
