"""A real `alertd run` delivering to hosted-service channels (Matrix, ntfy) on a loopback server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from alertd.store.ledger import Ledger
from tests.peers import Answer, Receiver

from .conftest import REPO, iso, wait_until

pytestmark = pytest.mark.slow

MATRIX_TOKEN = "syt_Dm9Qk2Lp7Xw4Rt6Zb1Nv"
NTFY_TOPIC = "Tq8Vw2Xe5Ry7Ui9Op3As"
NTFY_TOKEN = "tk_Hj4Kl6Zx8Cv2Bn5Mq7We"
SECRETS = (MATRIX_TOKEN, NTFY_TOPIC, NTFY_TOKEN)


@pytest.fixture
def peer():
    r = Receiver()
    r.thread.start()
    yield r
    r.release.set()
    r.server.shutdown()
    r.server.server_close()


def test_a_running_daemon_delivers_to_matrix_and_ntfy_and_the_ledger_says_sent(peer, notify, daemon_factory,
                                                                               tmp_path):
    """The 2-hour reminder of a deadline an hour away has just passed: it goes out at once, late, to
    both channels. The first request is refused with every secret echoed; it is retried with the
    same key (for Matrix the same transaction id), and nothing of the secrets reaches the log, the
    ledger or `alertd status`."""
    echo = " ".join(SECRETS)
    peer.answer(Answer(500, json.dumps({"errcode": "M_UNKNOWN", "error": echo})))
    due = datetime.now(UTC) + timedelta(hours=1)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "a.yaml").write_text(json.dumps({
        "channels": {
            "room": {"type": "matrix", "homeserver": peer.url(""), "room": "!desk:example.org",
                     "access_token": "${MATRIX_TOKEN}"},
            "phone": {"type": "ntfy", "server": peer.url(""), "topic": "${NTFY_TOPIC}", "token": "${NTFY_TOKEN}"},
        },
        "deadlines": [{"id": "filing", "title": "Filing — Ünïcode ✓", "due": iso(due), "remind": ["2h", "30m"],
                       "channels": ["room", "phone"]}]}))
    env = {"MATRIX_TOKEN": MATRIX_TOKEN, "NTFY_TOPIC": NTFY_TOPIC, "NTFY_TOKEN": NTFY_TOKEN}
    d = daemon_factory(env=env)
    wait_until(lambda: len(d.events("alert.sent")) >= 2, timeout=20, what="two alert.sent events")
    assert d.stop() == 0

    assert len(peer.seen) == 3  # one refused, both then accepted
    puts = [s for s in peer.seen if s.method == "PUT"]
    posts = [s for s in peer.seen if s.method == "POST"]
    assert puts and posts
    assert len({s.path for s in puts}) == 1, "a Matrix retry reuses its transaction id"
    assert puts[-1].json()["body"].startswith("Filing — Ünïcode ✓ — in ")
    assert posts[-1].json()["topic"] == NTFY_TOPIC and posts[-1].json()["title"] == "Filing — Ünïcode ✓"
    assert posts[-1].headers["authorization"] == f"Bearer {NTFY_TOKEN}"

    with Ledger.open(tmp_path / "state" / "ledger.sqlite3") as led:
        rows = {r.channel: r for r in led.iter_all()}
    assert {ch: (r.state, r.lead) for ch, r in rows.items()} == {"room": ("sent", "PT2H"), "phone": ("sent", "PT2H")}
    assert sorted(r.attempts for r in rows.values()) == [1, 2]
    retried = next(r for r in rows.values() if r.attempts == 2)
    assert retried.last_error.startswith("HTTP 500") and "[redacted]" in retried.last_error

    env_status = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "STATE_DIRECTORY"))}
    env_status |= {"ALERTD_STATE_DIR": str(tmp_path / "state"), "PYTHONPATH": str(REPO), **env}
    status = subprocess.run([sys.executable, "-m", "alertd.cli", "status", "-c", str(tmp_path / "config"), "--json"],
                            cwd=REPO, env=env_status, capture_output=True, text=True, timeout=30, check=False)
    assert status.returncode == 0, status.stderr
    ledger_bytes = b"".join(p.read_bytes() for p in (tmp_path / "state").iterdir() if p.is_file())
    for secret in SECRETS:
        assert secret not in d.log_path.read_text(), "a secret reached the daemon's log"
        assert secret.encode() not in ledger_bytes, "a secret reached the ledger"
        assert secret not in status.stdout + status.stderr, "a secret reached alertd status"
