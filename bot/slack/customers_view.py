"""Slack text for customers found by name, domain or id (``/nce customers`` and an ambiguous ``<customer>``).

Names and domains come from Partner Center: escaped (``&``, ``<``, ``>``) before they reach Slack.
"""

from __future__ import annotations

from bot.customers import LIST_LIMIT, CustomerMatches, CustomerRef
from bot.mrkdwn import esc as escape  # the one escape of Slack's three control characters

NAMES_NOT_CONFIGURED = "Looking customers up by name is not configured in this deployment."
GIVE_TENANT_ID = "give the customer's tenant id (a GUID); names are not looked up here"


def _line(customer: CustomerRef) -> str:
    domain = f" · {escape(customer.domain)}" if customer.domain else ""
    return f"• *{escape(customer.name)}*{domain} · `{customer.id}`"


def _listing(found: CustomerMatches, limit: int) -> list[str]:
    lines = [_line(c) for c in found.head(limit)]
    note = found.cut_note(limit)
    if note:
        lines.append(f"_{note}: narrow it with `/nce customers <part of the name>`_")
    return lines


def customers_text(found: CustomerMatches, limit: int = LIST_LIMIT) -> str:
    """``/nce customers [query]``: the matches with name, domain and id, and the totals."""
    if not found.query:
        head = f"*{found.total_customers:,} customers*"
    elif found.matches:
        head = f"*{found.count:,} of {found.total_customers:,} customers* match `{escape(found.query)}`"
    else:
        return (f"No customer's name, domain or id contains `{escape(found.query)}` "
                f"({found.total_customers:,} customers).")
    return "\n".join([head, *_listing(found, limit)])


def ambiguous_text(found: CustomerMatches, limit: int = 10) -> str:
    """A ``<customer>`` that fits several: the ones to choose from."""
    head = (f":mag: `{escape(found.query)}` matches {found.count:,} customers; "
            "run the command again with the domain or the id of one of them:")
    return "\n".join([head, *_listing(found, limit)])


def unknown_text(found: CustomerMatches) -> str:
    return (f":warning: No customer matches `{escape(found.query)}` among the partner's "
            f"{found.total_customers:,} customers. Give its id, its domain or a part of its name "
            "(`/nce customers` lists them).")
