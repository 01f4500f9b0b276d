"""Cell values as BAM, Excel and people write them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.bam.values import BadValue, parse_billing, parse_bool, parse_datetime, parse_guid, parse_int, parse_term
from bot.partner_center.models import BillingCycle, TermDuration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/05/2026 00:00:00", datetime(2026, 12, 5, tzinfo=UTC)),  # BAM (invariant "G")
        ("12/5/2026 3:04 PM", datetime(2026, 12, 5, 15, 4, tzinfo=UTC)),  # Excel, US locale
        ("12/5/2026 12:30 AM", datetime(2026, 12, 5, 0, 30, tzinfo=UTC)),
        ("2026-12-05", datetime(2026, 12, 5, tzinfo=UTC)),
        ("2026-12-05T10:15:00Z", datetime(2026, 12, 5, 10, 15, tzinfo=UTC)),
        ("11/20/2026 10:15:00 +02:00", datetime(2026, 11, 20, 8, 15, tzinfo=UTC)),  # BAM's DateTimeOffset
        ("05.12.2026", datetime(2026, 12, 5, tzinfo=UTC)),  # German Excel: day first with dots
        (" 05.12.2026 13:45 ", datetime(2026, 12, 5, 13, 45, tzinfo=UTC)),
    ],
)
def test_dates(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("31/12/2026", "looks like day/month/year"),
    ("02/30/2026", "must be a date"),
    ("tomorrow", "must be a date"),
    ("2026-13-01", "must be a date"),
    ("12/05/2026 13:00 PM", "must be a date"),
])
def test_bad_dates(text: str, words: str) -> None:
    with pytest.raises(BadValue, match=words):
        parse_datetime(text)


def test_booleans_numbers_terms_billing_and_ids() -> None:
    assert [parse_bool(t) for t in ("True", "FALSE", "wahr", "Faux", "1", "0", " yes ")] == [
        True, False, True, False, True, False, True]
    with pytest.raises(BadValue, match="True or False"):
        parse_bool("maybe")
    assert parse_int("25") == 25 and parse_int("25.0") == 25
    for bad in ("-1", "2.5", "1e3", "²"):
        with pytest.raises(BadValue):
            parse_int(bad, minimum=1)
    assert parse_term(" p1y ") is TermDuration.P1Y and parse_billing("ANNUAL") is BillingCycle.ANNUAL
    for bad in ("None", "OneTime", "Unknown"):
        with pytest.raises(BadValue, match="Monthly, Annual or Triennial"):
            parse_billing(bad)
    assert parse_guid("{9BEB6319-6889-4D28-A155-68CA9C783842}") == "9beb6319-6889-4d28-a155-68ca9c783842"
