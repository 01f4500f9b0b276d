"""What every Block Kit builder shares: escaping, formatting, the small element builders and Slack's limits.

Text written by people (reasons, modal text) or by Partner Center (names, descriptions, statuses) goes through
:func:`esc` before it reaches mrkdwn or a message's ``text``, so ``<!channel>``, ``<@U…>``, ``<!subteam^…>`` and
``<https://evil|docs>`` show as text. The bot's own mentions (:func:`mention`, :func:`users`) are built after
escaping and stay live. ``plain_text`` objects are never parsed by Slack, so they are not escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Final

from bot.domain import ChangeOptions
from bot.mrkdwn import esc as esc  # re-exported: defined Slack-free so the workflow and tracker can use it

Block = dict[str, Any]

MAX_BLOCKS: Final = 50
MAX_OPTIONS: Final = 100
MAX_METADATA: Final = 3000
APP_TITLE: Final = "ncebot: NCE migrations with approval"  # the header of the help and of the Home tab


def code(text: object) -> str:
    """An id (or other literal) in backticks, escaped; a backtick inside cannot close the span early."""
    inner = esc(text).replace("`", "'")
    return f"`{inner}`"


def fmt_time(moment: datetime | None) -> str:
    """A time each reader sees in their own time zone (Slack's ``<!date^…>`` token, SPEC §9), with the UTC time as
    the fallback text."""
    if moment is None:
        return "—"
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def fmt_date(day: date | datetime | None) -> str:
    if day is None:
        return "—"
    return (day.date() if isinstance(day, datetime) else day).isoformat()


def plain(text: str, limit: int = 150) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text, limit), "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": cut(text, 3000)}


def section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": mrkdwn(text), **extra}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:10]]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text)}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {"type": "button", "text": plain(text, 75), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, 75), "value": value[:150]}


_PRINCIPAL: Final = re.compile(r"^[UWS][A-Z0-9]+$")


def mention(principal: str) -> str:
    """The bot's own mention of a user (``U…``/``W…``) or a user group (``S…``); anything else shown as text."""
    if not _PRINCIPAL.match(principal):
        return code(principal)
    return f"<!subteam^{principal}>" if principal.startswith("S") else f"<@{principal}>"


def users(user_ids: Iterable[str]) -> str:
    return ", ".join(mention(u) for u in user_ids) or "nobody"


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cap(blocks: list[Block], note: str = "List truncated: more items than one Slack message can show.") -> list[Block]:
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], context(note)]


# --- options in words -------------------------------------------------------------------------------------

_TERM_WORDS: Final = {"P1M": "1-month term", "P1Y": "1-year term", "P3Y": "3-year term"}
_BILLING_WORDS: Final = {"monthly": "billed monthly", "annual": "billed annually", "triennial": "billed every 3 years"}


def options_in_words(options: ChangeOptions) -> str:
    """``1-year term, billed annually, 25 seats``: what a requester asked for, as a person would say it."""
    parts: list[str] = []
    if options.term:
        parts.append(_TERM_WORDS.get(options.term.upper(), f"term {esc(options.term)}"))
    if options.billing:
        parts.append(_BILLING_WORDS.get(options.billing.lower(), f"billed {esc(options.billing)}"))
    if options.quantity is not None:
        parts.append(f"{options.quantity} seat" + ("" if options.quantity == 1 else "s"))
    if options.full_term:
        parts.append("a full new term")
    if options.end_date:
        parts.append(f"term ending {options.end_date.isoformat()}")
    if options.addons == "none":
        parts.append("without its add-ons")
    elif not isinstance(options.addons, str):
        parts.append("only add-on" + ("s " if len(options.addons) > 1 else " ") +
                     ", ".join(code(a) for a in options.addons))
    if options.target_date:
        parts.append(f"migrates on {options.target_date.isoformat()}")
    if options.on_renewal:
        parts.append("migrates at renewal")
    if not parts:
        return "Current term, billing and seats"
    text = ", ".join(parts)
    return text[0].upper() + text[1:]


# --- one error style ------------------------------------------------------------------------------------

_ID: Final = re.compile(
    r"(?<![`\w-])([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{32})(?![`\w-])"
)


def ids_in_backticks(text: str) -> str:
    """Bare GUIDs and 32-hex request ids wrapped in backticks (those already in backticks are left alone)."""
    out: list[str] = []
    for index, part in enumerate(text.split("`")):
        out.append(part if index % 2 else _ID.sub(r"`\1`", part))
    return "`".join(out)


def error_text(emoji: str, what: str, todo: str | None = None) -> str:
    """The one error style: ``:emoji: what went wrong. What to do.`` with ids in backticks. ``what`` and ``todo``
    are mrkdwn already (escape people's and Partner Center's text before passing it)."""
    what = what.strip()
    if what and what[-1] not in ".!?:":
        what += "."
    line = f"{emoji} {ids_in_backticks(what)}"
    if todo:
        todo = todo.strip()
        todo = todo[0].upper() + todo[1:] + ("" if todo[-1] in ".!?" else ".")
        line += f" {ids_in_backticks(todo)}"
    return line
