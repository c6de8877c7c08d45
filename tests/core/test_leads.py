"""Lead parsing and the canonical ISO 8601 spelling used everywhere."""

from __future__ import annotations

import pytest

from alertd.core.leads import Lead, LeadError, parse_lead


@pytest.mark.parametrize(
    ("text", "iso", "lead"),
    [
        ("0", "PT0S", Lead(0, 0)),
        (0, "PT0S", Lead(0, 0)),
        ("1w", "P7D", Lead(7, 0)),
        ("7d", "P7D", Lead(7, 0)),
        ("1d", "P1D", Lead(1, 0)),
        ("6h", "PT6H", Lead(0, 21600)),
        ("90m", "PT1H30M", Lead(0, 5400)),
        ("1d12h", "P1DT12H", Lead(1, 43200)),
        ("2w3d4h5m6s", "P17DT4H5M6S", Lead(17, 14706)),
        ("30s", "PT30S", Lead(0, 30)),
        ("24h", "PT24H", Lead(0, 86400)),
        ("P7D", "P7D", Lead(7, 0)),
        ("P1W", "P7D", Lead(7, 0)),
        ("PT6H", "PT6H", Lead(0, 21600)),
        ("P1DT12H", "P1DT12H", Lead(1, 43200)),
        ("PT90M", "PT1H30M", Lead(0, 5400)),
        ("PT0S", "PT0S", Lead(0, 0)),
    ],
)
def test_leads_parse_to_their_canonical_iso_duration(text: str | int, iso: str, lead: Lead) -> None:
    parsed = parse_lead(text)
    assert parsed == lead
    assert parsed.iso == iso


@pytest.mark.parametrize(
    "bad", ["7 days", "-1d", "1x", "", "d", "P", "PT", "P1DT", "1.5h", "P1M", "P1Y", "1d -1h", "99999w", None, True],
)
def test_malformed_or_negative_leads_are_refused(bad: object) -> None:
    with pytest.raises(LeadError):
        parse_lead(bad)


def test_month_leads_explain_why_they_are_refused() -> None:
    with pytest.raises(LeadError, match="months and years"):
        parse_lead("P1M")
