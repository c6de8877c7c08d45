"""The API keeps to its OpenAPI 3.1 document: the document validated, then every operation fuzzed
by schemathesis against the real daemon (positive and negative data, every check)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openapi_spec_validator import validate

from tests.web.conftest import TOKEN
from tests.web.test_api import _deadlines

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_the_served_document_is_valid_openapi_3_1(served):
    s = served(_deadlines())
    with s.client() as c:
        doc = c.get("/api/v1/openapi.json").json()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {"/deadlines", "/deadlines/{id}", "/deadlines/{id}/ack", "/deadlines/{id}/snooze",
                                 "/deadlines/{id}/done", "/deadlines/{id}/reopen", "/alerts", "/deliveries"}


def test_schemathesis_finds_nothing(served, tmp_path):
    s = served(_deadlines())
    s.daemon.wait_event("alert.sent", timeout=60)
    done = subprocess.run([str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{s.url}/api/v1/openapi.json",
                           "--url", f"{s.url}/api/v1",
                           "-H", f"Authorization: Bearer {TOKEN}", "--max-examples", "25",
                           "--workers", "1", "--seed", "1", "--generation-deterministic",
                           "--report-dir", str(tmp_path / "report")],
                          capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
