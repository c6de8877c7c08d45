"""Every bad input gets a clear `PATH:LINE: message`, exit 1, no traceback; all at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from alertd.cli import main

GOOD_CHANNELS = """
channels:
  stdout:
    type: console
"""


def check(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check", "-c", str(config)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({"a.yaml": "deadlines:\n  - id: x\n    title: [unclosed\n"},
                     "a.yaml:4: invalid YAML: did not find expected ',' or ']' "
                     "(while parsing a flow sequence that starts at line 3)", id="yaml-syntax"),
        pytest.param({"a.toml": "[channels.x]\ntype = \"console\"\n\n[[deadlines]\n"}, "a.toml:4: invalid TOML",
                     id="toml-syntax"),
        pytest.param({"a.yaml": b"deadlines:\n  - id: \xff\xfe\n"}, "a.yaml:2: not a UTF-8 text file",
                     id="binary"),
        pytest.param({"a.yaml": GOOD_CHANNELS + "deadline:\n  - id: x\n"},
                     "a.yaml:4: unknown top-level key 'deadline'", id="top-level-typo"),
        pytest.param({"a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: x\n    titel: T\n    due: 2021-05-21\n"
                                                "    channels: [stdout]\n"},
                     "a.yaml:6: deadline 'x': titel: unknown key 'titel'", id="item-typo"),
        pytest.param({"a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: x\n    title: T\n    due: 2021-05-21\n"
                                                "    timezone: Mars/Olympus\n    channels: [stdout]\n"},
                     "a.yaml:8: deadline 'x': timezone: unknown time zone 'Mars/Olympus'", id="zone"),
        pytest.param({"a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: x\n    title: T\n    due: 2021-02-30\n"
                                                "    channels: [stdout]\n"},
                     "a.yaml:7: deadline 'x': due '2021-02-30' is not a real date", id="impossible-date"),
        pytest.param({"a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: x\n    title: T\n    due: 2021-05-21\n"
                                                "    remind: [1d, 7 days]\n    channels: [stdout]\n"},
                     "a.yaml:8: deadline 'x': lead '7 days' is not a duration", id="malformed-lead"),
        pytest.param({"a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: x\n    title: T\n    due: 2021-05-21\n"
                                                "    remind:\n      - 1d\n      - -1d\n    channels: [stdout]\n"},
                     "a.yaml:10: deadline 'x': lead '-1d' is negative", id="negative-lead"),
        pytest.param({"a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: Bad_ID\n    title: T\n    due: 2021-05-21\n"
                                                "    channels: [stdout]\n"},
                     "a.yaml:5: deadline #1: id: not a valid id", id="bad-id"),
        pytest.param({"a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: x\n    title: T\n    due: 2021-05-21\n"
                                                "    channels: [stdot]\n"},
                     "a.yaml:8: deadline 'x': channel 'stdot' is not defined", id="undefined-channel"),
        pytest.param({"a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: x\n    title: T\n    due: 2021-05-21\n"},
                     "a.yaml:5: deadline 'x' has no channels", id="no-channels"),
        pytest.param({"a.yaml": "channels:\n  s:\n    type: slakc\n    url: https://h.example/x\n"},
                     "a.yaml:3: channel 's': unknown channel type 'slakc'", id="channel-type"),
        pytest.param({"a.yaml": "channels:\n  s:\n    type: slack\n    url: ${ALERTD_TEST_UNSET_VAR}\n"},
                     "a.yaml:4: ${ALERTD_TEST_UNSET_VAR} is not set", id="unresolvable-secret"),
        pytest.param({"a.yaml": "channels:\n  s:\n    type: email\n    to: [a@example.org]\n    from: b@example.org\n"
                                "    smtp: {host: h, prot: 25}\n"},
                     "a.yaml:6: channel 's': smtp.prot: unknown key 'prot'", id="nested-typo"),
        pytest.param({"a.toml": "[channels.stdout]\ntype = \"console\"\n\n[[deadlines]]\nid = \"x\"\n"
                                "title = \"T\"\ndue = 2021-05-21\nremind = [\"1d\", \"7 days\"]\n"
                                "channels = [\"stdout\"]\n"},
                     "a.toml:8: deadline 'x': lead '7 days' is not a duration", id="toml-lead-line"),
        pytest.param({"a.toml": "[channels.stdout]\ntype = \"console\"\n\n[[deadlines]]\nid = \"x\"\ntitle = \"T\"\n"
                                "due = 2021-05-21\nchannels = [\"stdout\"]\n\n"
                                "[[deadlines]]\nid = \"y\"\ntitel = \"T\"\n"},
                     "a.toml:12: deadline 'y': titel: unknown key 'titel'", id="toml-second-table"),
    ],
)
def test_bad_input_is_reported_with_file_and_line(
    write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str], files: dict, expected: str
) -> None:
    config = write_config(files)
    code, _, err = check(config, capsys)
    assert code == 1
    assert f"{config}/{expected}" in err, err


def test_unknown_key_gets_a_did_you_mean_hint(write_config: Callable[..., Path], capsys) -> None:
    config = write_config({"a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: x\n    titel: T\n    due: 2021-05-21\n"
                                                     "    channels: [stdout]\n"})
    _, _, err = check(config, capsys)
    assert "hint: did you mean 'title'?" in err


def test_an_id_defined_twice_names_both_files(write_config: Callable[..., Path], capsys) -> None:
    entry = "deadlines:\n  - id: same\n    title: T\n    due: 2021-05-21\n    channels: [stdout]\n"
    config = write_config({"a.yaml": GOOD_CHANNELS, "b/one.yaml": entry, "b/two.yml": "# second copy\n\n" + entry})
    code, _, err = check(config, capsys)
    assert code == 1
    assert f"{config}/b/two.yml:4: deadline 'same' is defined twice: here and at {config}/b/one.yaml:2" in err


def test_a_channel_defined_twice_names_both_files(write_config: Callable[..., Path], capsys) -> None:
    config = write_config({"a.yaml": GOOD_CHANNELS, "b.toml": '[channels.stdout]\ntype = "console"\n'})
    code, _, err = check(config, capsys)
    assert code == 1
    assert f"{config}/b.toml:1: channel 'stdout' is defined twice: here and at {config}/a.yaml:2" in err


def test_every_error_is_reported_at_once(write_config: Callable[..., Path], capsys) -> None:
    config = write_config({
        "a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: x\n    title: T\n    due: 2021-02-30\n    channels: [stdout]\n"
                                  "  - id: y\n    title: T\n    due: 2021-05-21\n    channels: [nope]\n",
        "b.yaml": "bogus: 1\n",
        "c.toml": "[[deadlines\n",
    })
    code, _, err = check(config, capsys)
    assert code == 1
    assert "a.yaml:7:" in err and "a.yaml:12:" in err and "b.yaml:1:" in err and "c.toml:1:" in err
    assert "alertd: 4 errors in" in err


def test_a_missing_config_directory_is_a_clear_error(tmp_path: Path, capsys) -> None:
    code, _, err = check(tmp_path / "nowhere", capsys)
    assert code == 1
    assert "nowhere: config directory does not exist" in err


def test_a_secret_value_never_appears_in_errors(write_config, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ALERTD_TEST_HOOK", "https://hooks.example.org/T000/B000/sekrit-token-123")
    monkeypatch.setenv("ALERTD_TEST_PORT", "sekrit-port-value")
    config = write_config({"a.yaml": """
        channels:
          s:
            type: slack
            url: ${ALERTD_TEST_HOOK}
            timeout: nope
          m:
            type: email
            to: [a@example.org]
            from: b@example.org
            smtp: {host: h, port: "${ALERTD_TEST_PORT}"}
        """})
    code, out, err = check(config, capsys)
    assert code == 1
    assert "a.yaml:5:" in err and "a.yaml:10:" in err
    assert "sekrit" not in out + err


def test_a_slack_url_written_literally_is_still_treated_as_a_secret(write_config, capsys) -> None:
    config = write_config({"a.yaml": """
        channels:
          s:
            type: slack
            url: https://hooks.slack.example/services/T0/B0/literal-sekrit
        deadlines:
          - {id: x, title: "see https://hooks.slack.example/services/T0/B0/literal-sekrit", due: 2031-01-01,
             channels: [s]}
        """})
    code, out, err = check(config, capsys)
    assert code == 0
    assert "literal-sekrit" not in out + err
    assert "[redacted]" in out


def test_secrets_come_from_the_credentials_directory_when_the_variable_is_unset(
    write_config, tmp_path: Path, capsys, monkeypatch
) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "HOOK").write_text("https://hooks.example.org/from-credential\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    monkeypatch.delenv("HOOK", raising=False)
    config = write_config({"a.yaml": "channels:\n  s:\n    type: webhook\n    url: ${HOOK}\n"})
    from alertd.config import load_config  # noqa: PLC0415
    from alertd.config.secretrefs import environ  # noqa: PLC0415

    loaded = load_config(config, env=environ())
    assert loaded.channels["s"].url.get_secret_value() == "https://hooks.example.org/from-credential"


def test_dollar_dollar_brace_is_a_literal(write_config) -> None:
    from alertd.config import load_config  # noqa: PLC0415

    config = write_config({"a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: x\n    title: costs $${PRICE}\n"
                                                     "    due: 2031-05-21\n    channels: [stdout]\n"})
    assert load_config(config, env={}).deadlines[0].title == "costs ${PRICE}"


@pytest.mark.parametrize("name", ["Ops", "-ops", "ops\n", "a" * 129, "ops slack"])
def test_channel_names_follow_the_id_pattern(write_config, capsys, name: str) -> None:
    import json  # noqa: PLC0415

    config = write_config({"a.yaml": f"channels:\n  {json.dumps(name)}:\n    type: console\n"})
    code, _, err = check(config, capsys)
    assert code == 1
    assert "a.yaml:2: channel name" in err


def test_a_webhook_token_seen_apart_from_its_url_is_redacted_everywhere(write_config, capsys) -> None:
    """Config.secrets (used by check, plan, run and status) holds URL tokens, not only whole URLs."""
    config = write_config({"a.yaml": """
        channels:
          s: {type: slack, url: "https://hooks.slack.example/services/T0/B0/AbCdEfGhIjKlMnOpQrStUvWx"}
        deadlines:
          - {id: x, title: "token AbCdEfGhIjKlMnOpQrStUvWx alone", due: 2031-01-01, channels: [s]}
        """})
    code, out, err = check(config, capsys)
    assert code == 0
    assert "AbCdEfGhIjKlMnOpQrStUvWx" not in out + err


def test_an_empty_value_means_unset_not_an_empty_string(write_config, capsys) -> None:
    """libyaml gives plain scalars the style "" (not None): `channels:` empty must still mean 'none'."""
    config = write_config({"a.yaml": GOOD_CHANNELS + "deadlines:\n  - id: x\n    title: T\n    due: 2031-05-21\n"
                                                     "    notes:\n    channels:\n"})
    code, _, err = check(config, capsys)
    assert code == 1
    assert "a.yaml:5: deadline 'x' has no channels" in err


@pytest.mark.parametrize(("due", "remind", "expected"), [
    ("0001-01-01T00:30", "[0]", "a.yaml:8: deadline 'x': due '0001-01-01T00:30' in Europe/Moscow is outside the "
                                "representable range of instants"),
    ("0001-01-05", "[7d]", "a.yaml:10: deadline 'x': a lead reaches back before the year 1"),
    ("9999-12-31", "[0]", "a.yaml:8: deadline 'x': due '9999-12-31' is past the last representable day"),
])
def test_dues_at_the_ends_of_time_are_errors_not_crashes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         due: str, remind: str, expected: str) -> None:
    (tmp_path / "a.yaml").write_text(GOOD_CHANNELS + f"deadlines:\n  - id: x\n    title: T\n    due: {due}\n"
                                     f"    timezone: Europe/Moscow\n    remind: {remind}\n    channels: [stdout]\n")
    code, _, err = check(tmp_path, capsys)
    assert code == 1
    assert expected.replace("a.yaml", str(tmp_path / "a.yaml")) in err
