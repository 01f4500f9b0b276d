"""Why a subscription is skipped or not eligible: the reasons of the check report's rows (``/nce check``) and of
the rows a campaign plan leaves out (``/nce bulk``, ``/nce import``). Partner Center's own error descriptions are
shown as it wrote them; these are ncebot's."""

from __future__ import annotations

# --- the check report (bot.services.checks) ---------------------------------------------------------------------
TRIAL = "Trial subscription: convert it to paid before migrating."
BUNDLE_NOT_ELIGIBLE = "Migrates only together with its base subscription and add-ons, and that bundle is not eligible."
NOT_IN_BUNDLE = "Not part of the validated bundle."


def not_active(status: str) -> str:
    return f"Subscription is {status}, not active."


def promotion(promotion_id: str) -> str:
    return f"Subscription has an active promotion ({promotion_id})."


def base_not_validated(base_id: str) -> str:
    return f"Its base subscription {base_id} was not validated."


def base_could_not_be_validated(base_id: str) -> str:
    return f"Its base subscription {base_id} could not be validated."


def validation_refused(description: object) -> str:
    return f"Validation refused: {description}"


def validating(subscription_id: str) -> str:
    """The ``what`` of a validate call in ``bot.texts.refusals``'s Partner Center sentences."""
    return f"validating {subscription_id}"


def already_nce(migrated_from: str | None) -> str:
    return "Already a New Commerce subscription" + (f" (migrated from {migrated_from})." if migrated_from else ".")


# --- a campaign plan's left-out rows (bot.intake.planning; each after its code: ``Code: reason``) ----------------
PLAN_TRIAL = "a trial: convert it to paid before migrating"
PLAN_BUNDLE_NOT_ELIGIBLE = "BaseNotEligible: migrates only with its base and add-ons, and that bundle is not eligible"


def plan_not_active(status: str) -> str:
    return f"the subscription is {status}, not active"


def plan_promotion(promotion_id: str) -> str:
    return f"it has an active promotion ({promotion_id})"


def plan_not_listed(description: object) -> str:
    return f"its subscriptions could not be listed: {description}"


def plan_in_open_request(request_id: str, kind: str) -> str:
    return f"already in open request {request_id} ({kind})"


def plan_no_schedule(customer_id: str, schedule_id: str) -> str:
    return f"customer {customer_id} has no schedule {schedule_id}"


def plan_schedule_not_open(schedule_id: str, status: str) -> str:
    return f"schedule {schedule_id} is {status}"
