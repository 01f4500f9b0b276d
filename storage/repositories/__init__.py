"""Small typed data-access functions used by the workflow and the status tracker, one module per table group
(requests, votes, operations, audit, watch list, leases; read models in ``views``). Import the package
(``from storage import repositories as repo``): every function is re-exported here.

Every function takes an open ``Session`` and never commits: the caller owns the transaction
(``with session_factory.begin() as session: ...``). State changes are CONDITIONAL updates
(``UPDATE … WHERE id = ? AND state = ?``) whose row count says whether this caller won; each successful
transition appends an audit event in the same transaction.
"""

from storage.repositories.audit import append_audit, audit_events
from storage.repositories.base import (
    OPEN_STATES,
    TransitionNotAllowed,
    holder_is_dead,
    insert_once,
    new_id,
    rowcount,
)
from storage.repositories.leases import read_lease, release_lease, renew_lease, try_acquire_lease
from storage.repositories.operations import (
    OperationView,
    claim_operation,
    create_operation,
    finish_operation,
    operations_for,
    release_operation,
    update_operation_fields,
)
from storage.repositories.requests import (
    add_request,
    approved_request_ids,
    expired_pending_ids,
    get_request,
    open_requests_for_subscription,
    requests_by_requester,
    requests_in_states,
    save_message,
    touch_if_state,
    transition,
    update_request_fields,
)
from storage.repositories.views import (
    options_from_json,
    options_to_json,
    to_view,
    validation_from_json,
    validation_to_json,
)
from storage.repositories.votes import add_vote, vote_count, voters
from storage.repositories.watch import add_watch, remove_watch, watched_customer_ids

__all__ = [
    "OPEN_STATES",
    "OperationView",
    "TransitionNotAllowed",
    "add_request",
    "add_vote",
    "add_watch",
    "append_audit",
    "approved_request_ids",
    "audit_events",
    "claim_operation",
    "create_operation",
    "expired_pending_ids",
    "finish_operation",
    "get_request",
    "holder_is_dead",
    "insert_once",
    "new_id",
    "open_requests_for_subscription",
    "operations_for",
    "options_from_json",
    "options_to_json",
    "read_lease",
    "release_lease",
    "release_operation",
    "remove_watch",
    "renew_lease",
    "requests_by_requester",
    "requests_in_states",
    "rowcount",
    "save_message",
    "to_view",
    "touch_if_state",
    "transition",
    "try_acquire_lease",
    "update_operation_fields",
    "update_request_fields",
    "validation_from_json",
    "validation_to_json",
    "vote_count",
    "voters",
    "watched_customer_ids",
]
