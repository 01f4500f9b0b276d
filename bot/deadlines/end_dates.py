"""Aligned end dates (SPEC §10): the valid ``customTermEndDate`` values come from Partner Center's
``customTermEndDates`` helper, so the modals offer only those and ``end-date=`` is checked against them."""

from __future__ import annotations

from datetime import date

from bot.domain import InvalidInput
from bot.partner_center.client import PartnerCenterClient

DEFAULT_TERM = "P1Y"
MAX_NAMED = 12  # valid dates named in a refusal


def valid_end_dates(pc: PartnerCenterClient, customer_id: str, term: str | None) -> list[date]:
    """Distinct valid end dates for a new ``term`` (default P1Y), in order."""
    items = pc.custom_term_end_dates(customer_id, (term or DEFAULT_TERM).upper())
    return sorted({item.allowed_custom_term_end_date.date() for item in items})


def check_end_date(pc: PartnerCenterClient, customer_id: str, term: str | None, end_date: date) -> None:
    """InvalidInput naming the valid dates when ``end_date`` is not one of them."""
    valid = valid_end_dates(pc, customer_id, term)
    if end_date in valid:
        return
    named = ", ".join(d.isoformat() for d in valid[:MAX_NAMED]) or "none (this customer has nothing to align with)"
    more = f" and {len(valid) - MAX_NAMED} more" if len(valid) > MAX_NAMED else ""
    raise InvalidInput(f"end-date={end_date.isoformat()} is not an aligned end date for a {(term or DEFAULT_TERM)} "
                       f"term of this customer. Valid: {named}{more}; or leave end-date out to keep the current end.",
                       field="end-date")
