"""Pure Block Kit builders: dicts in, dicts out, no Slack calls (tested without Slack), one module per surface.

``common`` (escaping, formatting, element builders), ``messages`` (the approval request and replies around it),
``modals``, ``home`` (the App Home tab), ``reports`` (read-only answers). Import from here:
``from bot.slack.blocks import request_blocks``.
"""

from bot.slack.blocks import modals as _modals
from bot.slack.blocks.common import (
    MAX_BLOCKS,
    MAX_METADATA,
    MAX_OPTIONS,
    Block,
    button,
    cap,
    code,
    context,
    cut,
    error_text,
    esc,
    fmt_date,
    fmt_time,
    header,
    ids_in_backticks,
    mention,
    mrkdwn,
    option,
    options_in_words,
    plain,
    section,
    users,
)
from bot.slack.blocks.errors import error_message
from bot.slack.blocks.home import (
    HOME_HOW_TO,
    HOME_MINE_LISTED,
    HOME_PENDING_LISTED,
    MAX_HOME_BLOCKS,
    home_error_view,
    home_view,
)
from bot.slack.blocks.messages import (
    BULK_EXCLUDED_LISTED,
    BULK_LISTED,
    KIND_LABEL,
    STATE_EMOJI,
    bulk_blocks,
    chunked,
    confirmation_text,
    decision_line,
    help_blocks,
    help_text,
    ids_line,
    kind_label,
    progress_line,
    request_blocks,
    request_header,
    request_text,
    state_emoji,
    state_title,
    submitted_line,
    validation_blocks,
    validation_summary,
)
from bot.slack.blocks.modals import (
    ModalMetadata,
    change_modal,
    loading_modal,
    lookup_modal,
    message_modal,
    reject_modal,
    reschedule_modal,
)
from bot.slack.blocks.reports import (
    TOP_REASONS,
    check_blocks,
    check_counts,
    customer_options,
    pending_blocks,
    schedules_blocks,
    status_blocks,
    subscription_options,
    subscriptions_blocks,
    top_reasons,
)

# The single-module blocks.py had these private helpers; branches written against it may still import them.
_cut = cut
_cap = cap
_chunked = chunked
_TITLES = _modals._TITLES
_checkbox = _modals._checkbox
_customer_input = _modals._customer_input
_datepicker = _modals._datepicker
_option_blocks = _modals._option_blocks
_select = _modals._select
_text_input = _modals._text_input

__all__ = [
    "BULK_EXCLUDED_LISTED",
    "BULK_LISTED",
    "HOME_HOW_TO",
    "HOME_MINE_LISTED",
    "HOME_PENDING_LISTED",
    "KIND_LABEL",
    "MAX_BLOCKS",
    "MAX_HOME_BLOCKS",
    "MAX_METADATA",
    "MAX_OPTIONS",
    "STATE_EMOJI",
    "TOP_REASONS",
    "Block",
    "ModalMetadata",
    "bulk_blocks",
    "button",
    "cap",
    "change_modal",
    "check_blocks",
    "check_counts",
    "chunked",
    "code",
    "confirmation_text",
    "context",
    "customer_options",
    "cut",
    "decision_line",
    "error_message",
    "error_text",
    "esc",
    "fmt_date",
    "fmt_time",
    "header",
    "help_blocks",
    "help_text",
    "home_error_view",
    "home_view",
    "ids_in_backticks",
    "ids_line",
    "kind_label",
    "loading_modal",
    "lookup_modal",
    "mention",
    "message_modal",
    "mrkdwn",
    "option",
    "options_in_words",
    "pending_blocks",
    "plain",
    "progress_line",
    "reject_modal",
    "request_blocks",
    "request_header",
    "request_text",
    "reschedule_modal",
    "schedules_blocks",
    "section",
    "state_emoji",
    "state_title",
    "status_blocks",
    "submitted_line",
    "subscription_options",
    "subscriptions_blocks",
    "top_reasons",
    "users",
    "validation_blocks",
    "validation_summary",
]
