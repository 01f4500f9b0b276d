"""The sentences of the domain errors the services raise to users: who may not do what, what is already decided
or open, what Partner Center refused or could not answer, what can no longer be changed. The input-rule messages
(options, GUIDs, dates, quantity, reason) are ``bot.rules``'s."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

# --- who may ------------------------------------------------------------------------------------------------------
ONLY_APPROVERS_DECIDE = "Only approvers can approve or reject requests."
SELF_APPROVAL = "You asked for this change, so another approver has to decide on it."
ONLY_APPROVERS_AUDIT = "Only approvers can export the audit trail."
ONLY_APPROVERS_CONTROL_CAMPAIGN = "Only approvers can pause, resume or stop a campaign."


def not_a_requester(what: str) -> str:
    return f"Only the people allowed to ask for changes may {what}."


def membership_unconfirmed(group: str) -> str:
    """``group``: ``@handle`` or the group's mention."""
    return f"ncebot could not confirm your membership of {group}; try again in a moment."


def unapprovable(why: str) -> str:
    return (f"This request could never be approved: {why}. Nothing was requested; ask an "
            "administrator to fix the approval settings (`ncebot doctor` shows them).")


def already_decided(request_id: str, outcome: str, deciders: Sequence[str]) -> str:
    """A late click. ``outcome``: ``approved``, ``rejected`` or ``expired`` (an expiry names nobody)."""
    if outcome == "expired":
        return f"Request {request_id} was already expired"
    who = ", ".join(f"<@{u}>" for u in deciders) or "the system"
    return f"Request {request_id} was already {outcome} by {who}"


def ineligible(subscription_id: str, reasons: Sequence[tuple[object, object]]) -> str:
    """Validation refused the change: each (code, description) Partner Center gave."""
    said = "; ".join(f"{code}: {description}" for code, description in reasons) or "not eligible"
    return f"Subscription {subscription_id} cannot be migrated: {said}"


def already_voted(request_id: str, missing: int) -> str:
    more = f" It still needs {missing} approval(s) from other approvers." if missing > 0 else ""
    return f"You already approved request {request_id}.{more}"


# --- the approval message ---------------------------------------------------------------------------------------
_NOT_POSTED_FIXES = {
    "not_in_channel": " Invite ncebot to the channel (`/invite @ncebot`).",
    "channel_not_found": " An administrator should check ncebot's approval channel setting (and invite ncebot "
                         "if the channel is private).",
    "is_archived": " Unarchive the channel, or ask an administrator to choose another approval channel.",
}


def not_posted(channel: str, reason: str) -> str:
    return (f"ncebot could not post the request to <#{channel}>: {reason}; nothing was stored as pending, "
            "ask again once fixed." + _NOT_POSTED_FIXES.get(reason, ""))


# --- Partner Center -----------------------------------------------------------------------------------------------
READING_END_DATES = "reading the valid end dates"  # the ``what`` of a read, in the sentences below


def pc_not_answering(what: str) -> str:
    return f"Partner Center is not answering right now ({what}); try again in a few minutes."


def pc_sign_in_failed(what: str, error: object) -> str:
    return f"ncebot could not sign in to Partner Center ({what}): {error}"


def pc_not_found(what: str, description: object) -> str:
    return f"Not found in Partner Center ({what}): {description}"


def pc_refused(what: str, code: object, description: object) -> str:
    return (f"Partner Center refused {what}: {code}: {description}" if code is not None
            else f"Partner Center refused {what}: {description}")


# --- what does not exist ------------------------------------------------------------------------------------------
def request_missing(request_id: str) -> str:
    return f"Request {request_id} does not exist."


def campaign_missing(request_id: str) -> str:
    return f"Campaign {request_id} does not exist."


def subscription_missing(subscription_id: str, customer_id: str) -> str:
    return f"Subscription {subscription_id} was not found for customer {customer_id}."


def schedule_without_subscription(schedule_id: str) -> str:
    return f"Schedule {schedule_id} has no currentSubscriptionId."


# --- what is already open or not possible -----------------------------------------------------------------------
def already_open(request_id: str, kind: str, subscription_id: str, state: str | None = None) -> str:
    """Another undecided or unsubmitted request (or campaign) names the same subscription."""
    what = f"{kind}, {state}" if state is not None else kind
    return f"Request {request_id} ({what}) is already open for subscription {subscription_id}."


BULK_IS_A_CAMPAIGN = "a bulk request is a campaign: ask for it with /nce bulk or /nce import"
DATE_ONLY_FOR_SCHEDULES = "date and on-renewal apply to schedules only; use /nce schedule"
CANCEL_TAKES_NO_OPTIONS = "cancel takes no options"
BULK_MIGRATES_NOW = "bulk migrates now; date and on-renewal are not supported"
BULK_ADDONS = "bulk takes addons=all or addons=none"
BULK_KEEPS_SEATS = "bulk keeps each subscription's seat count; quantity is not supported"


def not_legacy(subscription_id: str) -> str:
    return f"Subscription {subscription_id} is not a legacy subscription (it is already New Commerce)."


def not_an_addon(addon_id: str, base_id: str) -> str:
    return f"{addon_id} is not an add-on of subscription {base_id}"


def has_schedule(subscription_id: str, schedule_id: str | None) -> str:
    return f"Subscription {subscription_id} already has schedule {schedule_id}; use /nce reschedule to change it."


def _changed(reschedule: bool) -> str:
    return "changed." if reschedule else "cancelled."


def schedule_not_created(schedule_id: str, status: object, *, reschedule: bool) -> str:
    return f"Schedule {schedule_id} is {status}; only a Created schedule can be " + _changed(reschedule)


def schedule_too_late(schedule_id: str, runs_on: date, *, reschedule: bool) -> str:
    return f"Schedule {schedule_id} runs on {runs_on.isoformat()}; it can no longer be " + _changed(reschedule)


def end_date_not_aligned(end_date: date, term: str, valid: Sequence[date], named_at_most: int) -> str:
    named = ", ".join(d.isoformat() for d in valid[:named_at_most]) or "none (this customer has nothing to align with)"
    more = f" and {len(valid) - named_at_most} more" if len(valid) > named_at_most else ""
    return (f"end-date={end_date.isoformat()} is not an aligned end date for a {term} "
            f"term of this customer. Valid: {named}{more}; or leave end-date out to keep the current end.")


# --- campaigns ----------------------------------------------------------------------------------------------------
def campaign_not_running(request_id: str, asked: str, now: str) -> str:
    return f"Campaign {request_id} cannot be {asked} now: it is {now}."


def nothing_to_do(ineligible: int) -> str:
    return "Nothing to do: no row of the plan is eligible" + (f" ({ineligible} not eligible)." if ineligible else ".")


# --- the 7-day window (SPEC §10) --------------------------------------------------------------------------------
def window_closed(subscription_id: str, closed_at: datetime | None, *, cancel: bool) -> str:
    what = "cancelled" if cancel else "reduced"
    if closed_at is None:
        return (f"Subscription {subscription_id} can no longer be {what}: Partner Center gives it no cancellation "
                "window (no cancellationAllowedUntilDate or refundOptions).")
    closed = closed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Subscription {subscription_id} can no longer be {what}: its 7-day window closed at {closed}. "
            "After it, Partner Center accepts neither a cancel nor fewer seats until the term ends.")


def window_not_nce(subscription_id: str) -> str:
    return (f"Subscription {subscription_id} is not an NCE subscription; only the NCE subscription a "
            "migration created can be reduced or cancelled here.")


def window_not_active(subscription_id: str, status: object) -> str:
    return f"Subscription {subscription_id} is {status}; only an active subscription can be reduced or cancelled."


WINDOW_CANCEL_TAKES_NO_OPTIONS = "Cancelling a subscription takes no options."
WINDOW_GIVE_SEATS = "Give the new total number of seats."
WINDOW_SEATS_ONLY = "Reducing seats takes only the new total number of seats."


def window_more_seats(quantity: int, current: int, subscription_id: str) -> str:
    return (f"{quantity} is more than the {current} seats {subscription_id} has: adding seats is not "
            "this feature (it needs no deadline; do it in Partner Center).")


def window_same_seats(subscription_id: str, current: int) -> str:
    return f"Subscription {subscription_id} already has {current} seats; give a smaller total."
