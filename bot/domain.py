"""Slack-free domain vocabulary shared by the workflow, storage, renderers and the scheduler."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Protocol

from bot.texts import refusals

# Error code the tracker gives a schedule request whose schedule was cancelled (by the bot or outside it).
SCHEDULE_CANCELLED = "ScheduleCancelled"
SYSTEM_ACTOR = "ncebot"  # the actor of audit events ncebot itself causes (submission, tracking, expiry)


class RequestKind(StrEnum):
    MIGRATE = "migrate"
    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    BULK = "bulk"
    # SPEC §10: within the 7-day window after a migration (PATCH of the new NCE subscription)
    REDUCE_SEATS = "reduce_seats"
    CANCEL_SUBSCRIPTION = "cancel_subscription"


class RequestState(StrEnum):
    """SPEC §5: pending → approved → submitted → processing → completed | failed;
    pending → rejected | expired; approved → failed when submission is refused."""

    PENDING = "pending"
    APPROVED = "approved"
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self in (RequestState.COMPLETED, RequestState.FAILED, RequestState.REJECTED, RequestState.EXPIRED)


ALLOWED_TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.PENDING: frozenset({RequestState.APPROVED, RequestState.REJECTED, RequestState.EXPIRED}),
    RequestState.APPROVED: frozenset({RequestState.SUBMITTED, RequestState.FAILED}),
    RequestState.SUBMITTED: frozenset({RequestState.PROCESSING, RequestState.COMPLETED, RequestState.FAILED}),
    RequestState.PROCESSING: frozenset({RequestState.COMPLETED, RequestState.FAILED}),
    RequestState.COMPLETED: frozenset(),
    RequestState.FAILED: frozenset(),
    RequestState.REJECTED: frozenset(),
    RequestState.EXPIRED: frozenset(),
}

AddOnChoice = Literal["all", "none"] | tuple[str, ...]


@dataclass(frozen=True)
class ChangeOptions:
    """What the requester asked for, as parsed from ``key=value`` options or a modal.

    ``None`` means "keep what the legacy subscription has" (Partner Center's default).
    """

    term: str | None = None  # P1M | P1Y | P3Y
    billing: str | None = None  # monthly | annual | triennial
    quantity: int | None = None
    full_term: bool = False
    end_date: date | None = None  # customTermEndDate
    addons: AddOnChoice = "all"
    target_date: date | None = None  # schedules
    on_renewal: bool = False  # schedules

    def migrates_when(self) -> str:
        """When a scheduled migration runs, in words: ``at renewal`` or ``on 2026-12-05``."""
        if self.on_renewal:
            return "at renewal"
        return f"on {self.target_date.isoformat()}" if self.target_date else "on the scheduled date"

    def describe(self) -> str:
        """Short human text, e.g. ``term=P1Y billing=monthly quantity=10 full-term``."""
        parts: list[str] = []
        if self.term:
            parts.append(f"term={self.term}")
        if self.billing:
            parts.append(f"billing={self.billing}")
        if self.quantity is not None:
            parts.append(f"quantity={self.quantity}")
        if self.full_term:
            parts.append("full-term")
        if self.end_date:
            parts.append(f"end-date={self.end_date.isoformat()}")
        if self.addons != "all":
            parts.append("addons=" + (self.addons if isinstance(self.addons, str) else ",".join(self.addons)))
        if self.target_date:
            parts.append(f"date={self.target_date.isoformat()}")
        if self.on_renewal:
            parts.append("on-renewal")
        return " ".join(parts) or "defaults (keep current term, billing and seats)"


@dataclass(frozen=True)
class MessageRef:
    """Where a request's message lives in Slack. Persisted: a lost ts means dead buttons (PagerDuty, 2017)."""

    channel: str
    ts: str


@dataclass(frozen=True)
class Vote:
    approver: str
    at: datetime


@dataclass(frozen=True)
class EligibilityReason:
    subscription_id: str | None
    code: int | str
    description: str


@dataclass(frozen=True)
class ValidationOutcome:
    """Validate's answer in domain terms: eligibility of the base and its add-ons, and the NCE target."""

    customer_id: str
    subscription_id: str
    eligible: bool
    catalog_item_id: str | None = None
    term: str | None = None
    billing: str | None = None
    end_date: date | None = None
    addon_ids: tuple[str, ...] = ()
    reasons: tuple[EligibilityReason, ...] = ()
    subscription_name: str | None = None
    customer_name: str | None = None


@dataclass(frozen=True)
class RequestView:
    """Read model of a stored change request: everything a renderer needs, nothing Slack-specific."""

    id: str
    kind: RequestKind
    state: RequestState
    customer_id: str
    subscription_id: str | None
    requester: str
    created_at: datetime
    expires_at: datetime
    options: ChangeOptions = field(default_factory=ChangeOptions)
    schedule_id: str | None = None  # reschedule / cancel target, or the schedule created
    customer_name: str | None = None
    subscription_name: str | None = None
    validation: ValidationOutcome | None = None
    required_approvals: int = 1
    votes: tuple[Vote, ...] = ()
    decided_by: tuple[str, ...] = ()
    decided_at: datetime | None = None
    reject_reason: str | None = None
    message: MessageRef | None = None
    migration_id: str | None = None
    new_subscription_id: str | None = None
    new_order_id: str | None = None
    subscription_end_date: date | None = None
    error_code: str | None = None
    error_description: str | None = None
    pc_request_id: str | None = None
    correlation_id: str | None = None
    external_reference_id: str | None = None


class Clock(Protocol):
    def now(self) -> datetime: ...


def utc_now(clock: Clock) -> datetime:
    """``clock.now()`` as an aware UTC time: test clocks may hand out naive times, which mean UTC here."""
    from datetime import UTC

    now = clock.now()
    return now if now.tzinfo else now.replace(tzinfo=UTC)


class SystemClock:
    """Real UTC time."""

    def now(self) -> datetime:
        from datetime import UTC

        return datetime.now(UTC)


class MessagePoster(Protocol):
    """The approval message itself on Slack (``bot.slack.notifier.SlackNotifier``): post it, edit it in place."""

    def post_request(self, request: RequestView) -> MessageRef: ...

    def update_request(self, request: RequestView) -> None: ...


class NotifyFailed(Exception):
    """A Notifier could not deliver a message. ``reason``: the platform's short error code (``channel_not_found``,
    ``not_in_channel``, ``unreachable``), safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MembershipResolver(Protocol):
    """Resolves a Slack user-group id (``S…``) to its member user ids (``usergroups.users.list``).

    Fails closed: when the members cannot be read now and no list read within the cache's lifetime is at hand,
    ``members`` raises :class:`MembershipUnconfirmed` (an unknown group simply has no members)."""

    def members(self, group_id: str) -> frozenset[str]: ...


class UserDirectory(Protocol):
    """Display names of Slack users, for exports read outside Slack (the audit CSV)."""

    def display_name(self, user_id: str) -> str | None: ...


# --- domain errors: the one Slack error handler turns these into friendly replies ----------------------


class DomainError(Exception):
    """Base of every error whose message is safe and useful to show to the person who acted."""


class InvalidInput(DomainError):
    """A command argument or modal field is wrong. ``field`` names it (option name or modal block)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotAuthorized(DomainError):
    """The person may not do this (not a requester, not an approver, self-approval)."""


class MembershipUnconfirmed(DomainError):
    """A user group's members could not be read (Slack failed and the cached list is past its lifetime), so a
    right that depends on that group is neither granted nor denied: the person is asked to try again."""

    def __init__(self, group_id: str, handle: str | None = None) -> None:
        # A handle comes from Slack and is shown as text (escaped where it is rendered); without one, Slack renders
        # the group mention as its handle, so that mention is declared as the domain's own markup.
        mention = f"<!subteam^{group_id}>"
        name = f"@{handle}" if handle else mention
        super().__init__(refusals.membership_unconfirmed(name))
        self.group_id = group_id
        self.handle = handle
        self.mentions: tuple[str, ...] = () if handle else (mention,)


class NotFound(DomainError):
    """A request, customer, subscription, migration or schedule does not exist."""


class Ineligible(DomainError):
    """Validation refused the change; the request is not stored."""

    def __init__(self, outcome: ValidationOutcome) -> None:
        super().__init__(refusals.ineligible(outcome.subscription_id,
                                             [(r.code, r.description) for r in outcome.reasons]))
        self.outcome = outcome


class AlreadyDecided(DomainError):
    """A late click: the request was already approved, rejected or expired."""

    def __init__(self, request: RequestView) -> None:
        verb = {
            RequestState.REJECTED: "rejected",
            RequestState.EXPIRED: "expired",
        }.get(request.state, "approved")
        super().__init__(refusals.already_decided(request.id, verb, request.decided_by))
        self.request = request
