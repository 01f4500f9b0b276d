"""CSV reports: ``/nce check`` (eligibility of every legacy subscription of a customer) and ``/nce audit``.

Slack-free. The check report's first columns are those of Microsoft's NCE Batch Migration Tool (BAM)
``subscriptions.csv``, in BAM's order, so a BAM user can open it the same way; ncebot's own columns follow
(check result, Partner Center reason codes and names, status, offer id, trial, promotion, validation errors).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.bam import formats as bam_formats
from bot.bam.values import billing_name
from bot.csv_files import write_csv
from bot.domain import InvalidInput
from bot.partner_center.models import is_guid
from storage.models import AuditEvent, ChangeRequest

#: Partner Center eligibility error codes of validate (BAM's enum names).
ELIGIBILITY_CODE_NAMES: dict[int, str] = {
    0: "SubscriptionStatusNotActive",
    1: "SubscriptionBeingProcessingInOms",
    2: "SubscriptionTooCloseToTermEnd",
    3: "SubscriptionPromotionsPresent",
    4: "SubscriptionAddOnsPresent",
    5: "NewCommerceProductUnavailable",
    6: "TermDurationBillingCycleCombinationNotSupported",
    7: "SubscriptionActiveForLessThanOneMonth",
    8: "TradeStatusNotAllowed",
    9: "InvalidPartnerIdOnRecord",
    10: "MigrationsWithinLast24hOfTermOnlyAllowedForFullTerm",
    11: "InvalidCustomTermEndDate",
    12: "CustomTermEndDateMustAlignWithExistingSubscriptionOrCalendarMonth",
}

# ncebot's own reason codes, for subscriptions it did not send to validate (or could not).
REASON_TRIAL = "Trial"
REASON_NCE = "AlreadyNewCommerce"
REASON_BASE = "BaseNotEligible"
REASON_BASE_SKIPPED = "BaseNotValidated"
REASON_ERROR = "ValidationError"


class CheckResult(StrEnum):
    ELIGIBLE = "eligible"  # validated, can migrate now (with its base/add-ons)
    INELIGIBLE = "ineligible"  # validated, Partner Center gave reasons
    SKIPPED = "skipped"  # not validated: inactive, trial, promotion, already NCE, or its base was skipped
    ERROR = "error"  # validate was refused (4xx) for this subscription; the reason says why


@dataclass(frozen=True)
class CheckReason:
    code: int | str
    description: str
    subscription_id: str | None = None

    @property
    def name(self) -> str:
        return ELIGIBILITY_CODE_NAMES.get(self.code, str(self.code)) if isinstance(self.code, int) else self.code


@dataclass(frozen=True)
class CheckRow:
    """One subscription of the check report (BAM's eligibility row, plus ncebot's columns)."""

    customer_tenant_id: str
    subscription_id: str
    subscription_name: str
    result: CheckResult
    partner_tenant_id: str = ""
    indirect_reseller_mpn_id: str = ""
    customer_name: str = ""
    product_name: str = ""
    offer_id: str = ""
    status: str = ""
    expiration_date: date | None = None
    auto_renew: bool | None = None
    catalog_item_id: str | None = None  # NcePsa
    current_term: str = ""
    current_billing: str = ""
    seat_count: int | None = None
    target_term: str = ""  # term Partner Center would give the NCE subscription
    target_billing: str = ""
    target_end_date: date | None = None
    is_addon: bool = False
    base_subscription_id: str = ""
    is_trial: bool = False
    promotion_id: str = ""
    reasons: tuple[CheckReason, ...] = ()

    @property
    def eligible(self) -> bool:
        return self.result is CheckResult.ELIGIBLE

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(str(r.code) for r in self.reasons))


BAM_COLUMNS: tuple[str, ...] = bam_formats.SUBSCRIPTIONS  # BAM's subscriptions.csv, verbatim
EXTRA_COLUMNS: tuple[str, ...] = (
    "CheckResult",
    "ReasonCodes",
    "ReasonNames",
    "SubscriptionStatus",
    "LegacyOfferId",
    "IsTrial",
    "PromotionId",
    "NceTermEndDate",
)
CHECK_COLUMNS: tuple[str, ...] = BAM_COLUMNS + EXTRA_COLUMNS

AUDIT_COLUMNS: tuple[str, ...] = (
    "at",
    "request_id",
    "customer_id",
    "actor",
    "actor_name",
    "action",
    "from_state",
    "to_state",
    "ms_request_id",
    "ms_correlation_id",
    "detail",
    "request_kind",
    "customer_name",
)

@dataclass(frozen=True)
class CheckReport:
    """Result of ``/nce check <customer>``: one row per subscription, bases followed by their add-ons."""

    customer_id: str
    customer_name: str
    generated_at: datetime
    rows: tuple[CheckRow, ...] = ()
    partner_tenant_id: str = ""
    validate_calls: int = 0
    notes: tuple[str, ...] = field(default=())

    def _count(self, result: CheckResult) -> int:
        return sum(1 for r in self.rows if r.result is result)

    @property
    def eligible(self) -> int:
        return self._count(CheckResult.ELIGIBLE)

    @property
    def ineligible(self) -> int:
        return self._count(CheckResult.INELIGIBLE)

    @property
    def skipped(self) -> int:
        return self._count(CheckResult.SKIPPED)

    @property
    def errors(self) -> int:
        return self._count(CheckResult.ERROR)

    @property
    def counts(self) -> dict[str, int]:
        return {r.value: self._count(r) for r in CheckResult}

    def row(self, subscription_id: str) -> CheckRow:
        for r in self.rows:
            if r.subscription_id.lower() == subscription_id.lower():
                return r
        raise KeyError(subscription_id)

    @property
    def filename(self) -> str:
        return f"nce-check-{self.customer_id.lower()}-{self.generated_at.astimezone(UTC):%Y%m%d-%H%M}.csv"

    def summary(self) -> str:
        """One line for the chat: ``Northwind Traders: 32 eligible, 0 ineligible, 0 skipped (32 subscriptions)``."""
        text = (
            f"{self.customer_name or self.customer_id}: {self.eligible} eligible, {self.ineligible} ineligible, "
            f"{self.skipped} skipped"
        )
        if self.errors:
            text += f", {self.errors} could not be validated"
        return text + f" ({len(self.rows)} subscriptions)"

    def to_csv(self) -> str:
        return write_csv(CHECK_COLUMNS, self.csv_rows())

    def csv_rows(self) -> list[list[Any]]:
        """The cells of each row under :data:`CHECK_COLUMNS` (several reports make one ``/nce check all`` file)."""
        return [self._csv_row(r) for r in self.rows]

    @staticmethod
    def _csv_row(r: CheckRow) -> list[Any]:
        validated = r.result in (CheckResult.ELIGIBLE, CheckResult.INELIGIBLE)
        return [
            r.partner_tenant_id,
            r.indirect_reseller_mpn_id,
            r.customer_name,
            r.customer_tenant_id,
            r.subscription_id,
            r.subscription_name,
            r.product_name,
            r.expiration_date,
            r.auto_renew,
            r.eligible,
            r.catalog_item_id,
            r.current_term,
            billing_name(r.current_billing),
            r.seat_count,
            False,  # StartNewTermInNce (BAM: editable; purchaseFullTerm)
            (r.target_term or r.current_term) if validated else r.current_term,
            billing_name((r.target_billing or r.current_billing) if validated else r.current_billing),
            r.seat_count,
            None,  # CustomTermEndDate (BAM: editable)
            r.is_addon,
            r.base_subscription_id,
            "; ".join(reason.description for reason in r.reasons),
            r.result.value,
            ";".join(r.reason_codes),
            ";".join(dict.fromkeys(reason.name for reason in r.reasons)),
            r.status,
            r.offer_id,
            r.is_trial,
            r.promotion_id,
            r.target_end_date,
        ]


# --- audit -------------------------------------------------------------------------------------------------


def audit_rows(session: Session, customer_id: str | None = None) -> list[list[Any]]:
    """The audit trail, oldest first; only ``customer_id``'s events (any letter case) when given.
    The ``actor_name`` cell is left empty: names come from Slack, outside the database transaction."""
    query = (
        select(AuditEvent, ChangeRequest.kind, ChangeRequest.customer_name)
        .outerjoin(ChangeRequest, ChangeRequest.id == AuditEvent.request_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    if customer_id is not None:
        query = query.where(func.lower(AuditEvent.customer_id) == customer_id.strip().lower())
    rows: list[list[Any]] = []
    for event, kind, customer_name in session.execute(query):
        rows.append(
            [
                event.at,
                event.request_id,
                event.customer_id,
                event.actor,
                None,
                event.action,
                event.from_state,
                event.to_state,
                event.ms_request_id,
                event.correlation_id,
                json.dumps(event.detail, sort_keys=True, ensure_ascii=False, default=str) if event.detail else "",
                kind,
                customer_name,
            ]
        )
    return rows


def audit_csv(
    session_factory: sessionmaker[Session],
    customer_id: str | None = None,
    names: Callable[[str], str | None] | None = None,
) -> str:
    """``/nce audit [customer]``: the append-only audit trail as CSV (SPEC §8.6; times in UTC)."""
    if customer_id is not None:
        customer_id = customer_id.strip()
        if not is_guid(customer_id):
            raise InvalidInput(
                f"customer must be a GUID such as 0b1c2d3e-…, got {customer_id or 'nothing'!r}", field="customer"
            )
    with session_factory() as session:
        rows = audit_rows(session, customer_id)
    if names is not None:
        # A spreadsheet shows "U0123…" otherwise. Resolved after the transaction: names() may call Slack.
        actor, actor_name = AUDIT_COLUMNS.index("actor"), AUDIT_COLUMNS.index("actor_name")
        known: dict[str, str | None] = {}
        for row in rows:
            if row[actor] not in known:
                known[row[actor]] = names(row[actor])
            row[actor_name] = known[row[actor]]
    return write_csv(AUDIT_COLUMNS, rows)
