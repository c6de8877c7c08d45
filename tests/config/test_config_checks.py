"""What could never be delivered, or would leak, is refused by `check` at its file and line.

And secrets: only secret fields (and what they are by nature) are redacted, references are named
by `${NAME}`, and a missing variable is one error, not a cascade.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from alertd.cli import main

DEADLINE = """
deadlines:
  - id: d
    title: T
    due: 2031-05-21
    channels: [c]
"""


def check(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check", "-c", str(config)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def channel(body: str) -> str:
    return "channels:\n  c:\n" + "".join(f"    {line}\n" for line in body.strip("\n").splitlines()) + DEADLINE


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param("type: webhook\nurl: https://user:pass@hooks.example.org/x", "a.yaml:4: channel 'c': url: url must "
                 "not carry a user name or password", id="userinfo"),
    pytest.param("type: webhook\nurl: https://hooks.example.org:99999/x", "a.yaml:4: channel 'c': url: url: the port "
                 "is not a number from 1 to 65535", id="port-range"),
    pytest.param("type: webhook\nurl: https://hooks.example.org:0/x", "a.yaml:4: channel 'c': url: url: the port",
                 id="port-zero"),
    pytest.param("type: webhook\nurl: 'http://[v1.x]/hook'", "a.yaml:4: channel 'c': url: url: an IPvFuture",
                 id="ipvfuture"),
    pytest.param("type: webhook\nurl: 'http://[::1/hook'", "a.yaml:4: channel 'c': url: url is not a valid URL",
                 id="unclosed-bracket"),
    pytest.param("type: webhook\nurl: 'https://exa_mple..org/x'", "a.yaml:4: channel 'c': url: url: the host is not "
                 "a valid host name", id="bad-host"),
    pytest.param("type: webhook\nurl: \"https://hooks.example.org/x\\r\\nX: y\"", "a.yaml:4: channel 'c': url: url "
                 "contains a control character (U+000D)", id="crlf-url"),
    pytest.param("type: slack\nurl: http://hooks.slack.com/services/T0/B0/x", "a.yaml:4: channel 'c': url: url must "
                 "be https://", id="slack-cleartext"),
    pytest.param("type: webhook\nurl: https://h.example/\nheaders: {Transfer-Encoding: chunked}",
                 "a.yaml:5: channel 'c': headers: header 'Transfer-Encoding' is set by alertd", id="framing"),
    pytest.param("type: webhook\nurl: https://h.example/\nheaders: {Content-Length: '1'}",
                 "header 'Content-Length' is set by alertd", id="content-length"),
    pytest.param("type: webhook\nurl: https://h.example/\nheaders: {Expect: 100-continue}",
                 "header 'Expect' is set by alertd", id="expect"),
    pytest.param("type: webhook\nurl: https://h.example/\nheaders: {Connection: close}",
                 "header 'Connection' is set by alertd", id="connection"),
    pytest.param("type: webhook\nurl: https://h.example/\nheaders: {Host: other.example}",
                 "header 'Host' is set by alertd", id="host"),
    pytest.param("type: webhook\nurl: https://h.example/\nheaders: {X-Team: Zürich}",
                 "a.yaml:5: channel 'c': headers: header 'X-Team': the value must be printable ASCII", id="non-ascii"),
    pytest.param("type: webhook\nurl: https://h.example/\ntimeout: 1e-300", "a.yaml:5: channel 'c': timeout: input "
                 "should be greater than or equal to 0.1", id="tiny-timeout"),
    pytest.param("type: email\nto: [a@example.org]\nfrom: b@example.org\nsmtp: {host: ''}",
                 "a.yaml:6: channel 'c': smtp.host: host is empty", id="empty-smtp-host"),
    pytest.param("type: email\nto: [a@example.org]\nfrom: b@example.org\nsmtp: {host: '   '}",
                 "a.yaml:6: channel 'c': smtp.host: host is empty", id="blank-smtp-host"),
    pytest.param("type: email\nto: [a@example.org]\nfrom: b@example.org\nsmtp: {host: smtp.example.org, "
                 "security: none, username: u, password: pw-secret}",
                 "a.yaml:6: channel 'c': smtp: a password with security: none would cross the network in cleartext",
                 id="cleartext-password"),
    pytest.param("type: email\nto: [a@example.org]\nfrom: b@example.org\nsmtp: {host: smtp.example.org, "
                 "ca_file: /nonexistent/ca.pem}", "a.yaml:6: channel 'c': smtp.ca_file: ca_file /nonexistent/ca.pem: "
                 "No such file or directory", id="missing-ca-file"),
    pytest.param("type: email\nto: [a@example.org]\nfrom: b@example.org\nsmtp: {host: smtp.example.org, "
                 "ca_file: /etc}", "smtp.ca_file: ca_file /etc is not a regular file", id="ca-file-directory"),
    pytest.param("type: email\nto: [a@example.org]\nfrom: b@example.org\nsmtp: {host: smtp.example.org, "
                 "timeout: 1e-300}", "smtp.timeout: input should be greater than or equal to 0.1", id="smtp-timeout"),
    pytest.param("type: email\nto: ['=?utf-8?b?QmNjOiBl?=@example.org']\nfrom: b@example.org\nsmtp: {host: h.example}",
                 "is not a plain e-mail address", id="encoded-word-address"),
    pytest.param("type: email\nto: [\"a@exa\\e[31mmple.org\"]\nfrom: b@example.org\nsmtp: {host: h.example}",
                 "is not a plain e-mail address", id="escape-in-address"),
])
def test_what_can_never_be_delivered_is_refused_at_its_line(write_config: Callable[..., Path], capsys, spec: str,
                                                             expected: str) -> None:
    code, _, err = check(write_config({"a.yaml": channel(spec)}), capsys)
    assert code == 1
    assert expected in err, err
    assert "pass@" not in err and "pw-secret" not in err
    assert "alertd: 1 error" in err  # the deadline naming the channel adds none


def test_a_ca_file_that_is_a_fifo_is_refused_without_blocking(write_config, capsys, tmp_path: Path) -> None:
    fifo = tmp_path / "ca.pem"
    os.mkfifo(fifo)
    spec = f"type: email\nto: [a@example.org]\nfrom: b@example.org\nsmtp: {{host: h.example, ca_file: {fifo}}}"
    code, _, err = check(write_config({"a.yaml": channel(spec)}), capsys)
    assert code == 1 and f"ca_file {fifo} is not a regular file" in err


def test_a_ca_file_without_certificates_is_refused(write_config, capsys, tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    spec = f"type: email\nto: [a@example.org]\nfrom: b@example.org\nsmtp: {{host: h.example, ca_file: {junk}}}"
    code, _, err = check(write_config({"a.yaml": channel(spec)}), capsys)
    assert code == 1 and "holds no PEM certificate" in err


@pytest.mark.parametrize("spec", [
    "type: slack\nurl: http://127.0.0.1:8080/hook",
    "type: slack\nurl: 'http://[::1]:8080/hook'",
    "type: slack\nurl: http://localhost/hook",
    "type: email\nto: [a@example.org]\nfrom: b@example.org\nsmtp: {host: 127.0.0.1, security: none, username: u, "
    "password: pw}",
    "type: webhook\nurl: https://bücher.example/hook\nheaders: {X-Team: desk, Authorization: Bearer abc}",
])
def test_cleartext_to_loopback_and_ordinary_settings_pass(write_config, capsys, spec: str) -> None:
    code, _, err = check(write_config({"a.yaml": channel(spec)}), capsys)
    assert code == 0, err


def test_a_real_ca_file_passes(write_config, capsys, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    spec = f"type: email\nto: [a@example.org]\nfrom: b@example.org\nsmtp: {{host: h.example, ca_file: {ca}}}"
    code, _, err = check(write_config({"a.yaml": channel(spec)}), capsys)
    assert code == 0, err


def test_crlf_inside_a_variable_is_refused_without_showing_it(write_config, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_URL", "https://hooks.example.org/T0/B0/secret-token-value\r\n")
    monkeypatch.setenv("TOKEN", "Bearer abc\r\nX-Evil: 1")
    spec = "type: webhook\nurl: ${HOOK_URL}\nheaders: {Authorization: '${TOKEN}'}"
    code, _, err = check(write_config({"a.yaml": channel(spec)}), capsys)
    assert code == 1
    assert "a.yaml:4: channel 'c': url: url contains a control character (U+000D)" in err
    assert "a.yaml:5: channel 'c': headers: header 'Authorization': the value must be printable ASCII" in err
    assert "secret-token-value" not in err and "X-Evil" not in err


@pytest.mark.parametrize(("title", "ok"), [("' '", False), ("'\u200b'", False), ("'\t'", False), ("' x '", True)])
def test_a_blank_title_is_refused(write_config, capsys, title: str, ok: bool) -> None:
    body = f"channels:\n  c: {{type: console}}\ndeadlines:\n  - id: d\n    title: {title}\n    due: 2031-05-21\n" \
           "    channels: [c]\n"
    code, _, err = check(write_config({"a.yaml": body}), capsys)
    assert (code == 0) is ok, err
    if not ok:
        assert "a.yaml:5: deadline 'd': title: title is blank" in err


@pytest.mark.parametrize(("lead", "message"), [
    ("٣d", "lead '٣d' is not a duration"), ("1w1w1w", "lead '1w1w1w' names a unit twice"),
    ("1d2d", "lead '1d2d' names a unit twice"), ("P٣D", "lead 'P٣D' is not a duration"),
    ("1" + "0" * 5000 + "d", "lead '1000000000000000000000000000000000000000…' is not a duration"),
])
def test_leads_take_ascii_digits_and_each_unit_once(write_config, capsys, lead: str, message: str) -> None:
    body = f"channels:\n  c: {{type: console}}\ndeadlines:\n  - id: d\n    title: T\n    due: 2031-05-21\n" \
           f"    remind: ['{lead}']\n    channels: [c]\n"
    code, _, err = check(write_config({"a.yaml": body}), capsys)
    assert code == 1 and f"a.yaml:7: deadline 'd': {message}" in err, err
    assert len(err) < 1000  # a long lead is quoted cut short


README_CHANNELS = """
channels:
  ops-slack:
    type: slack
    url: ${SLACK_OPS_WEBHOOK}
  desk-email:
    type: email
    to: [desk@example.org]
    from: alertd@example.org
    smtp: {host: smtp.example.org, port: 587, security: starttls,
           username: alertd, password: "${SMTP_PASSWORD}"}
  audit:
    type: webhook
    url: https://hooks.example.org/alertd
    secret: ${AUDIT_WEBHOOK_SECRET}
    headers: {X-Team: desk}
deadlines:
  - id: x
    title: T
    due: 2031-05-21
    channels: [ops-slack, desk-email, audit]
"""


def test_a_missing_variable_is_one_error_named_by_reference(write_config, capsys, monkeypatch) -> None:
    for name in ("SLACK_OPS_WEBHOOK", "SMTP_PASSWORD", "AUDIT_WEBHOOK_SECRET", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    more = "channels:\n  again:\n    type: slack\n    url: ${SLACK_OPS_WEBHOOK}\n"
    code, _, err = check(write_config({"a.yaml": README_CHANNELS, "b.yaml": more}), capsys)
    assert code == 1
    root = write_config({})
    errors = [line.removeprefix(f"{root}/") for line in err.splitlines() if not line.startswith(("  hint:", "alertd:"))]
    assert errors == [
        "a.yaml:4: ${SLACK_OPS_WEBHOOK} is not set: no environment variable SLACK_OPS_WEBHOOK and "
        "$CREDENTIALS_DIRECTORY is not set",
        "a.yaml:10: ${SMTP_PASSWORD} is not set: no environment variable SMTP_PASSWORD and "
        "$CREDENTIALS_DIRECTORY is not set",
        "a.yaml:14: ${AUDIT_WEBHOOK_SECRET} is not set: no environment variable AUDIT_WEBHOOK_SECRET and "
        "$CREDENTIALS_DIRECTORY is not set",
    ], err
    assert f"also used at {root / 'b.yaml'}:4" in err
    assert "alertd: 3 errors" in err


def test_only_secret_fields_are_redacted(write_config, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SLACK_OPS_WEBHOOK", "https://hooks.slack.com/services/T0/B0/abcdefghijklmnopqrstuvwx")
    monkeypatch.setenv("SMTP_PASSWORD", "SMTP")
    monkeypatch.setenv("AUDIT_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    monkeypatch.setenv("DESK", "desk")
    extra = "  - id: desk-${DESK}\n    title: '${HOME} and SMTP_PASSWORD'\n    due: 2031-05-21\n" \
            "    channels: [desk-email]\n"
    code, out, err = check(write_config({"a.yaml": README_CHANNELS + extra}), capsys)
    assert code == 0, err
    assert "-> ops-slack, desk-email, audit" in out  # X-Team: desk is no secret
    assert f"desk-desk: {os.environ['HOME']} and SMTP_PASSWORD" in out  # nor is ${HOME} in a title
    assert "abcdefghijklmnopqrstuvwx" not in out + err


def test_a_secret_by_nature_is_redacted_in_its_wire_forms() -> None:
    from alertd.redact import Redactor  # noqa: PLC0415

    redact = Redactor(["pa ss/wörd", "s3cr3t-T0ken-abcdef"])
    echoed = ("pa%20ss%2Fw%C3%B6rd pa%20ss/w%c3%b6rd pa+ss%2Fw%C3%B6rd \"pa ss/w\\u00f6rd\" "
              "cGEgc3Mvd8O2cmQ= czNjcjN0LVQwa2VuLWFiY2RlZg xs3cr3t-T0ken-abcdefx")
    assert redact(echoed) == '[redacted] [redacted] [redacted] "[redacted]" [redacted] [redacted] x[redacted]x'
    assert redact("SMTP_PASSWORD") == "SMTP_PASSWORD"
