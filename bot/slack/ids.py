"""Every Slack action id, block id and callback id used by ncebot, in one place.

``manifest.yml`` and the listeners are checked against this module by the tests.
"""

from __future__ import annotations

from typing import Final

COMMAND: Final = "/nce"

# --- Events API (manifest settings.event_subscriptions.bot_events) -----------------------------------------
HOME_OPENED_EVENT: Final = "app_home_opened"  # the App Home tab was opened: publish its view
BOT_EVENTS: Final = (HOME_OPENED_EVENT,)

# --- approval message (SPEC §5) --------------------------------------------------------------------------
APPROVE_ACTION: Final = "ncebot_approve"
REJECT_ACTION: Final = "ncebot_reject"
DECISION_BLOCK: Final = "ncebot_decision"

# --- campaigns (SPEC §8.4): buttons on the progress reply, value = the request id ---------------------------
CAMPAIGN_PAUSE_ACTION: Final = "ncebot_campaign_pause"
CAMPAIGN_RESUME_ACTION: Final = "ncebot_campaign_resume"
CAMPAIGN_STOP_ACTION: Final = "ncebot_campaign_stop"
CAMPAIGN_CONTROL_BLOCK: Final = "ncebot_campaign_control"
CAMPAIGN_ACTIONS: Final = (CAMPAIGN_PAUSE_ACTION, CAMPAIGN_RESUME_ACTION, CAMPAIGN_STOP_ACTION)

# --- schedules list ---------------------------------------------------------------------------------------
SCHEDULE_UPDATE_ACTION: Final = "ncebot_schedule_update"
SCHEDULE_CANCEL_ACTION: Final = "ncebot_schedule_cancel"

# --- deadlines (SPEC §10) ----------------------------------------------------------------------------------
REDUCE_SEATS_ACTION: Final = "ncebot_reduce_seats"  # value "<customer>|<NCE subscription>"
CANCEL_SUBSCRIPTION_ACTION: Final = "ncebot_cancel_subscription"
RENEWAL_SCHEDULE_ACTION: Final = "ncebot_renewal_schedule"  # value "<customer>|<legacy subscription>"
RENEWAL_MIGRATE_ACTION: Final = "ncebot_renewal_migrate"
WINDOW_MODAL: Final = "ncebot_window_modal"  # reduce seats / cancel subscription (private_metadata says which)

# --- modal callback ids -----------------------------------------------------------------------------------
MIGRATE_MODAL: Final = "ncebot_migrate_modal"  # also validate (private_metadata says which)
SCHEDULE_MODAL: Final = "ncebot_schedule_modal"
RESCHEDULE_MODAL: Final = "ncebot_reschedule_modal"
REJECT_MODAL: Final = "ncebot_reject_modal"
LOOKUP_MODAL: Final = "ncebot_lookup_modal"  # customer (+ id) for subscriptions, schedules, status, cancel, watch
LOADING_MODAL: Final = "ncebot_loading_modal"

# --- /nce import (SPEC §8.1) --------------------------------------------------------------------------------
IMPORT_MODAL: Final = "ncebot_import"
IMPORT_FILE_BLOCK: Final = "ncebot_import_block"
IMPORT_FILE_INPUT: Final = "ncebot_import_file"  # file_input: one CSV file

MODAL_CALLBACKS: Final = (MIGRATE_MODAL, SCHEDULE_MODAL, RESCHEDULE_MODAL, REJECT_MODAL, LOOKUP_MODAL, WINDOW_MODAL,
                          IMPORT_MODAL)

# --- modal input blocks (block_id) and their elements (action_id) -----------------------------------------
CUSTOMER_BLOCK: Final = "ncebot_customer"
CUSTOMER_SELECT: Final = "ncebot_customer_select"  # external_select, options loaded by app.options
SUBSCRIPTION_BLOCK: Final = "ncebot_subscription"
SUBSCRIPTION_SELECT: Final = "ncebot_subscription_select"
ADDONS_BLOCK: Final = "ncebot_addons"
ADDONS_INPUT: Final = "ncebot_addons_input"
TERM_BLOCK: Final = "ncebot_term"
TERM_INPUT: Final = "ncebot_term_input"
BILLING_BLOCK: Final = "ncebot_billing"
BILLING_INPUT: Final = "ncebot_billing_input"
QUANTITY_BLOCK: Final = "ncebot_quantity"
QUANTITY_INPUT: Final = "ncebot_quantity_input"
FLAGS_BLOCK: Final = "ncebot_flags"
FLAGS_INPUT: Final = "ncebot_flags_input"
END_DATE_BLOCK: Final = "ncebot_end_date"
END_DATE_INPUT: Final = "ncebot_end_date_input"
TARGET_DATE_BLOCK: Final = "ncebot_target_date"
TARGET_DATE_INPUT: Final = "ncebot_target_date_input"
ON_RENEWAL_BLOCK: Final = "ncebot_on_renewal"
ON_RENEWAL_INPUT: Final = "ncebot_on_renewal_input"
SCHEDULE_ID_BLOCK: Final = "ncebot_schedule_id"
SCHEDULE_ID_INPUT: Final = "ncebot_schedule_id_input"
OBJECT_ID_BLOCK: Final = "ncebot_object_id"  # lookup modal: schedule or migration id
OBJECT_ID_INPUT: Final = "ncebot_object_id_input"
REASON_BLOCK: Final = "ncebot_reason"
REASON_INPUT: Final = "ncebot_reason_input"

FLAG_FULL_TERM: Final = "full-term"
FLAG_ON_RENEWAL: Final = "on-renewal"

# External-select option loaders (app.options).
OPTION_LOADERS: Final = (CUSTOMER_SELECT, SUBSCRIPTION_SELECT)  # subscriptions: customers with over 100

# Block-action ids fired from inside modals (dispatch_action) that re-render the modal.
MODAL_DISPATCH_ACTIONS: Final = (CUSTOMER_SELECT, SUBSCRIPTION_SELECT)

# Which modal field an ``InvalidInput.field`` (an option name) belongs to.
FIELD_TO_BLOCK: Final = {
    "customer": CUSTOMER_BLOCK,
    "subscription": SUBSCRIPTION_BLOCK,
    "addons": ADDONS_BLOCK,
    "term": TERM_BLOCK,
    "billing": BILLING_BLOCK,
    "quantity": QUANTITY_BLOCK,
    "full-term": FLAGS_BLOCK,
    "end-date": END_DATE_BLOCK,
    "date": TARGET_DATE_BLOCK,
    "on-renewal": ON_RENEWAL_BLOCK,
    "schedule": SCHEDULE_ID_BLOCK,
    "reason": REASON_BLOCK,
}

ALL_ACTIONS: Final = (
    APPROVE_ACTION,
    REJECT_ACTION,
    SCHEDULE_UPDATE_ACTION,
    SCHEDULE_CANCEL_ACTION,
    REDUCE_SEATS_ACTION,
    CANCEL_SUBSCRIPTION_ACTION,
    RENEWAL_SCHEDULE_ACTION,
    RENEWAL_MIGRATE_ACTION,
    *CAMPAIGN_ACTIONS,
    *MODAL_DISPATCH_ACTIONS,
)
