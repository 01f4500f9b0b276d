"""Block Kit for SPEC §10: the 7-day window in a thread (with Reduce seats… / Cancel subscription…), its modal,
the renewal radar (`/nce renewals`) and the daily digest. Kept apart from ``blocks.py``; reuses its primitives."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from bot.deadlines.renewals import RenewalEntry, RenewalReport
from bot.deadlines.watcher import WindowNotice
from bot.domain import ChangeOptions, DomainError, RequestKind, RequestView
from bot.partner_center.errors import PartnerCenterError
from bot.slack import ids
from bot.slack.blocks import Block, ModalMetadata, button, context, esc, plain, section, state_emoji, state_title
from bot.slack.blocks.messages import KIND_LABEL
from bot.slack.forms import KEEP_END
from storage.deadlines import WindowView

if TYPE_CHECKING:
    from bot.workflow import Workflow

MAX_BUTTON_ROWS = 5  # a campaign summary with more windows lists them without buttons
MAX_LINES = 20


def escape(text: str | None) -> str:
    """Slack's three control characters, for text from people or Partner Center (the one ``esc``)."""
    return esc(text or "")


def date_token(moment: datetime | date) -> str:
    """``<!date^epoch^{date_short_pretty} {time}|fallback>``: each reader sees their own time zone."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(0, 0), tzinfo=UTC)
    moment = moment.astimezone(UTC)
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def day_token(day: date) -> str:
    """A calendar day (no time of day): ``{date_short_pretty}`` only."""
    moment = datetime.combine(day, time(12, 0), tzinfo=UTC)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}}|{day.isoformat()}>"


def _sub_label(w: WindowView) -> str:
    seats = f", {w.quantity} seat(s)" if w.quantity is not None else ""
    return f"*{escape(w.subscription_name) or 'subscription'}* `{w.subscription_id}`{seats}"


def _buttons(w: WindowView) -> Block:
    value = f"{w.customer_id}|{w.subscription_id}"
    return {"type": "actions", "block_id": f"ncebot_window_{w.id}", "elements": [
        button("Reduce seats…", ids.REDUCE_SEATS_ACTION, value),
        button("Cancel subscription…", ids.CANCEL_SUBSCRIPTION_ACTION, value, style="danger"),
    ]}


def window_notice(notice: WindowNotice) -> tuple[str, list[Block]]:
    """The thread message: the window opened, or a 48 h / 12 h reminder. One message per request."""
    windows = list(notice.windows)
    first = min(w.closes_at for w in windows)
    if notice.kind == "opened":
        head = (":hourglass_flowing_sand: The new NCE subscription may be cancelled or reduced until "
                f"{date_token(first)}." if len(windows) == 1 else
                f":hourglass_flowing_sand: {len(windows)} new NCE subscriptions may be cancelled or reduced; the "
                f"first window closes {date_token(first)}.")
        tail = ("After that Partner Center accepts neither a cancel nor fewer seats until the term ends. "
                "Reminders follow 48 h and 12 h before.")
    else:
        hours = notice.kind.removesuffix("h")
        head = (f":alarm_clock: {hours} h left: the window to cancel or reduce closes {date_token(first)}."
                if len(windows) == 1 else
                f":alarm_clock: {hours} h left for {len(windows)} NCE subscriptions: the first window closes "
                f"{date_token(first)}.")
        tail = "Last chance to right-size: after it, seats can only go up until the term ends."
    lines = [f"• {_sub_label(w)}: until {date_token(w.closes_at)}" for w in windows[:MAX_LINES]]
    if len(windows) > MAX_LINES:
        lines.append(f"… and {len(windows) - MAX_LINES} more.")
    text = f"{head} {tail}"
    blocks: list[Block] = [section(head), section("\n".join(lines)), context(tail)]
    if len(windows) <= MAX_BUTTON_ROWS:
        for w in windows:
            if len(windows) > 1:
                blocks.append(context(_sub_label(w)))
            blocks.append(_buttons(w))
    else:
        blocks.append(context("Too many subscriptions for buttons here: ask for a reduction or cancel from a "
                              "single migration's thread, or in Partner Center."))
    return text, blocks


def window_modal(kind: str, metadata: ModalMetadata, window: WindowView | None) -> Block:
    """Reduce seats (a number input) or Cancel subscription (a confirmation), then an approval request."""
    reduce = kind == "reduce_seats"
    about = f"`{metadata.subscription}`"
    if window is not None:
        about = f"{_sub_label(window)}\nThe window closes {date_token(window.closes_at)}."
    blocks: list[Block] = [section(about)]
    if reduce:
        blocks.append({
            "type": "input", "block_id": ids.QUANTITY_BLOCK, "label": plain("New total number of seats"),
            "element": {"type": "number_input", "action_id": ids.QUANTITY_INPUT, "is_decimal_allowed": False,
                        "min_value": "1"},
            "hint": plain("Fewer than today. Adding seats is not done here."),
        })
    else:
        blocks.append(section(":warning: Cancelling deletes the subscription in Partner Center (prorated refund). "
                              "An approver decides first."))
    return {
        "type": "modal",
        "callback_id": ids.WINDOW_MODAL,
        "private_metadata": metadata.dump(),
        "title": plain("Reduce seats" if reduce else "Cancel subscription", 24),
        "submit": plain("Request approval", 24),
        "close": plain("Back", 24),
        "blocks": blocks,
    }


def parse_window_value(value: str) -> tuple[str, str]:
    customer, _, subscription = value.partition("|")
    return customer, subscription


def windows_text(windows: Sequence[WindowView]) -> str:
    return ", ".join(f"`{w.subscription_id}`" for w in windows)


# --- the renewal radar ------------------------------------------------------------------------------------
RENEWALS_LOOKING = ":hourglass_flowing_sand: Looking for renewals across every customer… this answer updates itself."

MAX_RENEWAL_ROWS = 20  # each entry is a section and a row of buttons; Slack allows 50 blocks a message


def renewal_line(entry: RenewalEntry) -> str:
    sub = entry.subscription
    addons = f" + {len(entry.addons)} add-on(s)" if entry.addons else ""
    term = _value(sub.term_duration)
    billing = _value(sub.billing_cycle).lower()
    return (f"*{escape(entry.customer_name)}* · *{escape(sub.name)}* `{sub.id}` ({entry.seats} seat(s), {term} "
            f"{billing}){addons}\nTerm ends {day_token(entry.term_end)}: Microsoft migrates it on "
            f"{day_token(entry.migrates_on)} → {entry.becomes()}.")


def _renewal_buttons(entry: RenewalEntry) -> Block:
    value = f"{entry.customer_id}|{entry.subscription.id}"
    return {"type": "actions", "block_id": f"ncebot_renewal_{entry.subscription.id}", "elements": [
        button("Schedule…", ids.RENEWAL_SCHEDULE_ACTION, value, style="primary"),
        button("Migrate now…", ids.RENEWAL_MIGRATE_ACTION, value),
    ]}


def renewals_summary(report: RenewalReport, scope: str) -> str:
    count = len(report.entries)
    if not count:
        return (f":white_check_mark: No legacy subscription of {scope} renews in the next {report.days} day(s) "
                "without a schedule.")
    return (f":calendar: {count} legacy subscription(s) of {scope} renew in the next {report.days} day(s) with no "
            "schedule: Microsoft migrates each itself the day after its term ends, to an annual term with the same "
            "seats and billing. Schedule or migrate now to choose monthly, fewer seats or an aligned end date.")


def renewals_blocks(report: RenewalReport, scope: str) -> tuple[str, list[Block]]:
    text = renewals_summary(report, scope)
    blocks: list[Block] = [section(text)]
    for entry in report.entries[:MAX_RENEWAL_ROWS]:
        blocks.append(section(renewal_line(entry)))
        blocks.append(_renewal_buttons(entry))
    if len(report.entries) > MAX_RENEWAL_ROWS:
        blocks.append(context(f"Showing {MAX_RENEWAL_ROWS} of {len(report.entries)} — run it per customer, or see "
                              "the daily digest's CSV for them all."))
    if report.problems:
        blocks.append(context(":warning: Not read: " + escape("; ".join(report.problems[:5]))))
    return text, blocks


def renewals_progress(done: int, total: int) -> str:
    return f":hourglass_flowing_sand: Looking for renewals: {done} of {total} customer(s) read…"


def digest_blocks(report: RenewalReport, *, first: int = 10) -> tuple[str, list[Block]]:
    """The daily digest: counts per week, the first entries, and (uploaded next to it) the full CSV."""
    count = len(report.entries)
    head = (f":calendar: Renewal radar, {report.today.isoformat()}: {count} legacy subscription(s) renew in the next "
            f"{report.days} day(s) with no schedule; Microsoft migrates each the day after its term ends.")
    if not count:
        head = (f":calendar: Renewal radar, {report.today.isoformat()}: nothing renews in the next {report.days} "
                "day(s) without a schedule.")
    weeks = "\n".join(f"• week of {day_token(monday)}: {n}" for monday, n in report.by_week())
    blocks: list[Block] = [section(head)]
    if weeks:
        blocks.append(section(weeks))
    for entry in report.entries[:first]:
        blocks.append(section(renewal_line(entry)))
    if count > first:
        blocks.append(context(f"Showing {first} of {count} — the CSV has them all."))
    if report.problems:
        blocks.append(context(":warning: Not read: " + escape("; ".join(report.problems[:5]))))
    return head, blocks


def _value(value: object) -> str:
    return str(getattr(value, "value", value) or "")


# --- aligned end dates ------------------------------------------------------------------------------------

MAX_END_DATES = 99  # a static select holds 100 options, one is "keep the current end"


def with_end_dates(view: Block, dates: Sequence[date] | None, chosen: date | None = None) -> Block:
    """The change modal with its free end-date picker replaced by the valid aligned end dates (and "keep the
    current end"). ``dates`` None (Partner Center could not say): the view as it was."""
    if dates is None:
        return view
    keep = {"text": plain("Keep the current end", 75), "value": KEEP_END}
    choices = [keep] + [{"text": plain(d.strftime("%a %d %b %Y"), 75), "value": d.isoformat()}
                        for d in list(dates)[:MAX_END_DATES]]
    element: Block = {"type": "static_select", "action_id": ids.END_DATE_INPUT, "options": choices,
                      "initial_option": next((c for c in choices if chosen and c["value"] == chosen.isoformat()),
                                             keep)}
    blocks = []
    for block in view.get("blocks") or []:
        if block.get("block_id") == ids.END_DATE_BLOCK:
            block = {**block, "element": element, "optional": True, "label": plain("Aligned term end date"),
                     "hint": plain("Only the dates Partner Center accepts: month ends and this customer's NCE end "
                                   "dates.")}
        blocks.append(block)
    return {**view, "blocks": blocks}


def offer_end_dates(workflow: Workflow, view: Block, customer_id: str | None,
                    options: ChangeOptions | None = None) -> Block:
    """``with_end_dates`` for the change modal once a customer is chosen (the free picker stays when Partner
    Center cannot be read: the workflow still checks the date)."""
    if not customer_id:
        return view
    try:
        dates: list[date] | None = workflow.custom_term_end_dates(customer_id, options.term if options else None)
    except (DomainError, PartnerCenterError):
        dates = None
    return with_end_dates(view, dates, options.end_date if options else None)


# --- Microsoft-led migrations seen ------------------------------------------------------------------------

MICROSOFT_LED = ":office: *Microsoft-led*"


def mark_microsoft_led(blocks: list[Block], led_ids: Sequence[str]) -> list[Block]:
    """Label the sections about Microsoft-led schedules or migrations (``microsoftLed``) in a rendered list."""
    wanted = [f"`{i}`" for i in led_ids if i]
    if not wanted:
        return blocks
    out: list[Block] = []
    for block in blocks:
        text = (block.get("text") or {}).get("text") if block.get("type") == "section" else None
        hit = next((w for w in wanted if text and w in text), None)
        if text and hit:
            first, sep, rest = text.partition("\n")
            block = {**block, "text": {**block["text"], "text": f"{first} · {MICROSOFT_LED}{sep}{rest}"}}
        out.append(block)
    return out


# --- the approval message of a reduce_seats / cancel_subscription request ---------------------------------

# The header names the change as every other place does (``KIND_LABEL``, one label per kind).
WINDOW_LABELS = {kind.value: KIND_LABEL[kind] for kind in (RequestKind.REDUCE_SEATS, RequestKind.CANCEL_SUBSCRIPTION)}


def relabel_window_request(blocks: list[Block], request: RequestView) -> list[Block]:
    """``blocks.request_blocks`` names kinds it does not know by their id and describes options as migration
    options; for the two window kinds say what will happen instead (header and the Options field)."""
    label = WINDOW_LABELS.get(request.kind.value)
    if label is None:
        return blocks
    change = ("cancel: status deleted (prorated refund)" if request.kind.value == "cancel_subscription"
              else f"new total: {request.options.quantity} seat(s)")
    out: list[Block] = []
    for block in blocks:
        if block.get("type") == "header":
            block = {**block, "text": plain(f"{state_emoji(request)} {label} · {state_title(request)}")}
        elif block.get("type") == "section" and block.get("fields"):
            block = {**block, "fields": [
                {**f, "text": f"*Change*\n{change}"} if str(f.get("text", "")).startswith("*Options*") else f
                for f in block["fields"]]}
        out.append(block)
    return out
