"""Aligned end dates (SPEC §10): the valid ``customTermEndDate`` values come from Partner Center's
``customTermEndDates`` helper, so the modals offer only those and ``end-date=`` is checked against them."""

from __future__ import annotations

from datetime import date

from bot.domain import InvalidInput
from bot.partner_center.client import PartnerCenterClient
from bot.texts import refusals

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
    raise InvalidInput(refusals.end_date_not_aligned(end_date, term or DEFAULT_TERM, valid, MAX_NAMED),
                       field="end-date")
