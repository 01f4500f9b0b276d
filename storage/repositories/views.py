"""Read models of stored rows, and the JSON columns of a request (``options``, ``validation``).

The JSON goes through pydantic ``TypeAdapter``s of the domain dataclasses: same keys, same order, same values
as the hand-written codecs wrote (dates as ISO strings, tuples as lists), so rows written before read back alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from bot.domain import ChangeOptions, MessageRef, RequestKind, RequestState, RequestView, ValidationOutcome, Vote
from storage.models import ChangeRequest

_OPTIONS: TypeAdapter[ChangeOptions] = TypeAdapter(ChangeOptions)
_VALIDATION: TypeAdapter[ValidationOutcome] = TypeAdapter(ValidationOutcome)


def options_to_json(options: ChangeOptions) -> dict[str, Any]:
    data: dict[str, Any] = _OPTIONS.dump_python(options, mode="json")
    return data


def options_from_json(data: Mapping[str, Any] | None) -> ChangeOptions:
    if not data:
        return ChangeOptions()
    return _OPTIONS.validate_python(dict(data))


def validation_to_json(outcome: ValidationOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    data: dict[str, Any] = _VALIDATION.dump_python(outcome, mode="json")
    return data


def validation_from_json(data: Mapping[str, Any] | None) -> ValidationOutcome | None:
    if not data:
        return None
    return _VALIDATION.validate_python(dict(data))


def to_view(row: ChangeRequest) -> RequestView:
    """The read model of a request row (votes, message and latest operation included)."""
    op = row.operations[-1] if row.operations else None
    message = MessageRef(channel=row.message.channel, ts=row.message.ts) if row.message else None
    return RequestView(
        id=row.id,
        kind=RequestKind(row.kind),
        state=RequestState(row.state),
        customer_id=row.customer_id,
        subscription_id=row.subscription_id,
        requester=row.requester,
        created_at=row.created_at,
        expires_at=row.expires_at,
        options=options_from_json(row.options),
        schedule_id=row.schedule_id,
        customer_name=row.customer_name,
        subscription_name=row.subscription_name,
        validation=validation_from_json(row.validation),
        required_approvals=row.required_approvals,
        votes=tuple(Vote(approver=v.approver, at=v.at) for v in row.votes),
        decided_by=tuple(row.decided_by or ()),
        decided_at=row.decided_at,
        reject_reason=row.reject_reason,
        message=message,
        migration_id=row.migration_id,
        new_subscription_id=row.new_subscription_id,
        new_order_id=row.new_order_id,
        subscription_end_date=row.subscription_end_date,
        error_code=row.error_code,
        error_description=row.error_description,
        pc_request_id=op.ms_request_id if op else None,
        correlation_id=op.correlation_id if op else None,
        external_reference_id=op.external_reference_id if op else None,
    )
