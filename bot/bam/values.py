"""Cell values of BAM files as people and spreadsheets actually write them.

BAM itself parses with .NET's invariant culture; a file re-saved by Excel in another locale uses ``;``, localised
booleans (``WAHR``) and local dates (``31.12.2026``). Each parser returns the value or raises :class:`BadValue`
with a sentence for the person who fixes the file.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Final

from bot.partner_center.models import BillingCycle, TermDuration, is_guid
from bot.rules import MAX_QUANTITY as MAX_SEATS  # the same ceiling as the quantity= option

# Excel writes TRUE/FALSE in the language of its locale when it re-saves a CSV.
_TRUE: Final = frozenset({"true", "1", "yes", "wahr", "vrai", "waar", "verdadero", "vero", "sant", "tosi", "prawda"})
_FALSE: Final = frozenset({"false", "0", "no", "falsch", "faux", "onwaar", "falso", "falsk", "epätosi", "fałsz"})

_TIME: Final = (r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?)?"
                r"\s*(?:Z|([+-])(\d{2}):?(\d{2}))?")  # BAM writes DateTimeOffset as "… HH:mm:ss zzz"
_ISO: Final = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME + "$")
_SLASH: Final = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME + "$")  # BAM: MM/dd/yyyy HH:mm:ss
_DIGITS: Final = re.compile(r"[0-9]+")
_DOT: Final = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})" + _TIME + "$")  # dd.MM.yyyy (de, fr-CH, nl…)

#: BAM's billing plan names (enum names) -> the API's billing cycle; only the plans a migration can ask for.
BILLING_PLANS: Final[dict[str, BillingCycle]] = {
    "monthly": BillingCycle.MONTHLY,
    "annual": BillingCycle.ANNUAL,
    "triennial": BillingCycle.TRIENNIAL,
}
#: Partner Center's global term -> billing rule (a product may narrow it; validate says so per row).
TERM_BILLING: Final[dict[TermDuration, frozenset[BillingCycle]]] = {
    TermDuration.P1M: frozenset({BillingCycle.MONTHLY}),
    TermDuration.P1Y: frozenset({BillingCycle.MONTHLY, BillingCycle.ANNUAL}),
    TermDuration.P3Y: frozenset({BillingCycle.MONTHLY, BillingCycle.ANNUAL, BillingCycle.TRIENNIAL}),
}
#: BAM's name of each billing cycle (its ``BillingCycleType`` enum names), for the files ncebot writes.
BILLING_NAMES: Final[dict[BillingCycle, str]] = {
    BillingCycle.MONTHLY: "Monthly", BillingCycle.ANNUAL: "Annual", BillingCycle.TRIENNIAL: "Triennial",
    BillingCycle.BIENNIAL: "Biennial", BillingCycle.ONE_TIME: "OneTime", BillingCycle.NONE: "None",
    BillingCycle.UNKNOWN: "Unknown",
}
_BILLING_BY_TEXT: Final = {cycle.value.lower(): name for cycle, name in BILLING_NAMES.items()}


def billing_name(value: str | None) -> str:
    """``monthly`` (Partner Center's JSON) as BAM writes it: ``Monthly``; unknown text as given."""
    text = (value or "").strip()
    return _BILLING_BY_TEXT.get(text.lower(), text)


class BadValue(ValueError):
    """A cell's text is not a valid value; the message says what is expected."""


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:39] + "…")


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadValue(f"must be True or False, got {_shown(text)}")


def parse_guid(text: str) -> str:
    value = text.strip().strip("{}")
    if not is_guid(value):
        raise BadValue(f"must be a GUID like 0a1b2c3d-1111-2222-3333-444455556666, got {_shown(text)}")
    return value.lower()


def parse_int(text: str, *, minimum: int = 0) -> int:
    value = text.strip()
    if value.endswith(".0"):  # a spreadsheet that stored the number as a float
        value = value[:-2]
    if not _DIGITS.fullmatch(value):  # ASCII only: str.isdigit() also takes "²", which int() refuses
        raise BadValue(f"must be a whole number, got {_shown(text)}")
    number = int(value)
    if not minimum <= number <= MAX_SEATS:
        raise BadValue(f"must be a whole number from {minimum} to {MAX_SEATS:,}, got {_shown(text)}")
    return number


def parse_term(text: str) -> TermDuration:
    value = text.strip().upper()
    try:
        return TermDuration(value)
    except ValueError:
        raise BadValue(f"must be P1M, P1Y or P3Y, got {_shown(text)}") from None


def parse_billing(text: str) -> BillingCycle:
    cycle = BILLING_PLANS.get(text.strip().lower())
    if cycle is None:
        raise BadValue(f"must be Monthly, Annual or Triennial, got {_shown(text)}")
    return cycle


def parse_datetime(text: str) -> datetime:
    """An aware UTC date-time from ISO 8601, BAM's ``MM/dd/yyyy HH:mm:ss`` or a dotted ``dd.MM.yyyy``.

    ``dd/MM/yyyy`` is not guessed: ``05/06/2026`` would be read as May 6 by BAM, so ncebot reads it the same way
    and refuses a day-first date it can recognise (``31/12/2026``) instead of silently swapping it."""
    value = text.strip()
    for pattern, order in ((_ISO, "ymd"), (_SLASH, "mdy"), (_DOT, "dmy")):
        match = pattern.match(value)
        if match is None:
            continue
        parts = dict(zip(order, (int(g) for g in match.groups()[:3]), strict=True))
        hour, minute, second = (int(g) if g else 0 for g in match.groups()[3:6])
        meridiem = (match.group(7) or "").lower()
        if meridiem:
            if not 1 <= hour <= 12:
                break
            hour = hour % 12 + (12 if meridiem == "pm" else 0)
        sign, off_hours, off_minutes = match.groups()[7:10]
        offset = timedelta(hours=int(off_hours or 0), minutes=int(off_minutes or 0)) * (-1 if sign == "-" else 1)
        try:
            return datetime(parts["y"], parts["m"], parts["d"], hour, minute, second, tzinfo=UTC) - offset
        except ValueError:
            if order == "mdy" and parts["m"] > 12 >= parts["d"]:
                raise BadValue(
                    f"{_shown(text)} looks like day/month/year; BAM reads dates as MM/dd/yyyy. "
                    "Write it as YYYY-MM-DD to be unambiguous"
                ) from None
            break
    raise BadValue(f"must be a date as YYYY-MM-DD or MM/dd/yyyy, got {_shown(text)}")


def parse_date(text: str) -> date:
    return parse_datetime(text).date()
