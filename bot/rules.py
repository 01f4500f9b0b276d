"""The input rules, each in one place: ids, dates, seats, terms, billing plans, reasons, schedule timing and the
approval arithmetic. The command parser (``bot.slack.commands``), the modal reader (``bot.slack.forms``), the
workflow and ``ncebot doctor`` all call these, so a value is accepted or refused the same way everywhere.

Every refusal is a ``bot.domain.InvalidInput`` whose ``field`` names the argument (the command's option name);
the message quotes the value with backticks (the modal reader drops them). Digits are ASCII ``0-9`` only:
``str.isdigit`` and ``\\d`` also accept superscripts, Arabic-Indic or full-width digits, which ``int()`` refuses
or silently converts.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from typing import Final

from bot.domain import InvalidInput

TERMS: Final = ("P1M", "P1Y", "P3Y")
BILLINGS: Final = ("monthly", "annual", "triennial")
MAX_QUANTITY: Final = 1_000_000
MAX_REASON: Final = 2000

_GUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_REQUEST_ID: Final = re.compile(r"[0-9a-f]{32}")
_DIGITS: Final = re.compile(r"[0-9]+")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def short(value: str, limit: int = 60) -> str:
    """``value`` made safe to quote between backticks in a reply, and cut to ``limit`` characters."""
    cleaned = value.replace("`", "'")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def require_guid(value: str | None, what: str) -> str:
    """A customer, subscription, schedule, migration or add-on id: a GUID, returned lower-case."""
    text = (value or "").strip()
    if not _GUID.fullmatch(text):
        shown = f"`{short(text)}`" if text else "nothing"
        raise InvalidInput(f"{shown} is not a valid {what} id: expected a GUID "
                           "like 0a1b2c3d-1111-2222-3333-444455556666", field=what)
    return text.lower()


def is_request_id(value: str | None) -> bool:
    """ncebot's own request ids: 32 lower-case hex digits (``uuid4().hex``)."""
    return bool(value) and bool(_REQUEST_ID.fullmatch(value or ""))


def parse_date(value: str | None, what: str) -> date:
    """A date written ``YYYY-MM-DD`` in ASCII digits, and a real one."""
    text = (value or "").strip()
    if not _DATE.fullmatch(text):
        raise InvalidInput(f"`{what}` must be a date as YYYY-MM-DD, got `{short(text)}`", field=what)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"`{what}` is not a real date: `{short(text)}`", field=what) from None


def parse_term(value: str) -> str:
    upper = value.strip().upper()
    if upper not in TERMS:
        raise InvalidInput(f"`term` must be one of {', '.join(TERMS)}, got `{short(value)}`", field="term")
    return upper


def parse_billing(value: str) -> str:
    lower = value.strip().lower()
    if lower not in BILLINGS:
        raise InvalidInput(f"`billing` must be one of {', '.join(BILLINGS)}, got `{short(value)}`", field="billing")
    return lower


def _quantity_error(shown: str) -> InvalidInput:
    return InvalidInput(f"`quantity` must be a whole number of seats from 1 to {MAX_QUANTITY}, got `{shown}`",
                        field="quantity")


def parse_quantity(value: str) -> int:
    text = value.strip()
    if not _DIGITS.fullmatch(text):
        raise _quantity_error(short(value))
    return check_quantity(int(text))


def check_quantity(quantity: int) -> int:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise _quantity_error(str(quantity))
    return quantity


def check_reason(value: str | None) -> str:
    """A rejection reason: said, and at most :data:`MAX_REASON` characters."""
    reason = (value or "").strip()
    if not reason:
        raise InvalidInput("Say why the request is rejected.", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Keep the reason to {MAX_REASON} characters (it has {len(reason)}).", field="reason")
    return reason


def check_end_date(end_date: date | None, today: date) -> None:
    """``end-date`` (customTermEndDate) lies in the future."""
    if end_date is not None and end_date <= today:
        raise InvalidInput(f"`end-date` must be in the future (after {today.isoformat()}), "
                           f"got {end_date.isoformat()}", field="end-date")


def check_end_choice(full_term: bool, end_date: date | None) -> None:
    if full_term and end_date is not None:
        raise InvalidInput("give either `full-term` or `end-date=…`, not both", field="end-date")


def check_timing(target_date: date | None, on_renewal: bool, today: date | None, *, required: bool,
                 term_end: date | None = None) -> None:
    """When a scheduled migration runs: a date or on renewal (not both; one of them when ``required``), the date
    after ``today`` and not after the subscription's term end (Partner Center refuses it at approval time)."""
    if target_date is not None and on_renewal:
        raise InvalidInput("give either `date=YYYY-MM-DD` or `on-renewal`, not both", field="date")
    if required and target_date is None and not on_renewal:
        raise InvalidInput("Choose the date to migrate on (`date=YYYY-MM-DD`) or `on-renewal`", field="date")
    if target_date is not None and today is not None and target_date <= today:
        raise InvalidInput(f"`date` must be in the future (after {today.isoformat()}), "
                           f"got {target_date.isoformat()}", field="date")
    if target_date is not None and term_end is not None and target_date > term_end:
        raise InvalidInput(f"`date` {target_date.isoformat()} is after the subscription's term end "
                           f"{term_end.isoformat()}: pick a date up to {term_end.isoformat()}, or `on-renewal`",
                           field="date")


# --- approval arithmetic ----------------------------------------------------------------------------------


def possible_approvers(approvers: Collection[str], requester: str, *, allow_self_approval: bool) -> frozenset[str]:
    """The distinct users (``U…``/``W…``) who could approve a request by ``requester``."""
    users = frozenset(a for a in approvers if a.startswith(("U", "W")))
    return users if allow_self_approval else users - {requester}


def approval_shortfall(required: int, possible: Collection[str], *, allow_self_approval: bool) -> str | None:
    """Why a request needing ``required`` distinct approvals from the ``possible`` approvers can never be approved,
    or None when it can."""
    if len(possible) >= required:
        return None
    who = "approver(s)" if allow_self_approval else "approver(s) other than the requester"
    # Users read this too: no setting names here (doctor adds the settings to change).
    return (f"it needs {required} distinct approval(s) but only {len(possible)} {who} can give one; "
            "whoever runs ncebot can add approvers or lower the number of approvals required")
