"""The approval message in each state (SPEC §5 look), pure builder tests: header, validation only while
pending, options in words, ids in context, approvers mentioned, Home tab buttons, one error style."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.domain import (
    AlreadyDecided,
    ChangeOptions,
    InvalidInput,
    NotAuthorized,
    NotFound,
    RequestKind,
    RequestState,
    RequestView,
    ValidationOutcome,
)
from bot.partner_center.errors import PartnerCenterError
from bot.slack import blocks as ui
from bot.slack import ids

C = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"
S = "9beb6319-6889-4d28-a155-68ca9c783842"
RID = "0123456789abcdef0123456789abcdef"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ELIGIBLE = ValidationOutcome(customer_id=C, subscription_id=S, eligible=True, catalog_item_id="CFQ7TTC0LF8Q:0001:X",
                             term="P1Y", billing="annual")


def _request(state: RequestState, **extra: Any) -> RequestView:
    base: dict[str, Any] = dict(
        id=RID, kind=RequestKind.MIGRATE, state=state, customer_id=C, subscription_id=S, requester="UREQ",
        created_at=NOW, expires_at=NOW + timedelta(hours=24), customer_name="Contoso Ltd",
        subscription_name="Office 365 E3", validation=ELIGIBLE,
        options=ChangeOptions(term="P1Y", billing="annual", quantity=25))
    if state not in (RequestState.PENDING,):
        base.update(decided_by=("UAPP",), decided_at=NOW)
    base.update(extra)
    return RequestView(**base)


def _header(blocks: list[dict[str, Any]]) -> str:
    assert blocks[0]["type"] == "header"
    return str(blocks[0]["text"]["text"])


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn/plain text of the blocks (sections, fields, context elements)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return out


STATES = [
    (RequestState.PENDING, {}, "Waiting for approval"),
    (RequestState.APPROVED, {}, "Approved — migrating"),
    (RequestState.SUBMITTED, {"migration_id": "m1"}, "Approved — migrating"),
    (RequestState.PROCESSING, {"migration_id": "m1"}, "Approved — migrating"),
    (RequestState.COMPLETED, {"new_subscription_id": "n1"}, "Completed"),
    (RequestState.FAILED, {"error_code": "900225", "error_description": "seat cap"}, "Failed"),
    (RequestState.REJECTED, {"reject_reason": "wrong seats"}, "Rejected"),
    (RequestState.EXPIRED, {}, "Expired"),
]


@pytest.mark.parametrize(("state", "extra", "title"), STATES, ids=[s.value for s, _, _ in STATES])
def test_the_header_carries_the_state(state: RequestState, extra: dict[str, Any], title: str) -> None:
    blocks = ui.request_blocks(_request(state, **extra), approvers=("UAPP", "SGROUP"))
    assert _header(blocks).endswith(f"Migrate now · {title}")
    assert title in ui.request_text(_request(state, **extra))


@pytest.mark.parametrize(("state", "extra", "title"), STATES[1:], ids=[s.value for s, _, _ in STATES[1:]])
def test_no_validation_line_and_no_buttons_after_a_decision(state: RequestState, extra: dict[str, Any],
                                                             title: str) -> None:
    blocks = ui.request_blocks(_request(state, **extra), approvers=("UAPP",))
    text = json.dumps(blocks)
    assert "Eligible" not in text and "catalog item" not in text
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "<!subteam^" not in text and "please approve" not in text  # approvers are not pinged again


def test_pending_shows_validation_buttons_and_mentions_the_approvers() -> None:
    request = _request(RequestState.PENDING)
    blocks = ui.request_blocks(request, approvers=("UAPP", "SGROUP"))
    text = json.dumps(blocks)
    assert ":white_check_mark: *Eligible*" in text
    assert "<@UAPP>" in text and "<!subteam^SGROUP>" in text
    assert [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]] == [
        ids.APPROVE_ACTION, ids.REJECT_ACTION]
    # The notification text mentions them too, so they are notified.
    fallback = ui.request_text(request, ("UAPP", "SGROUP"))
    assert "<@UAPP>" in fallback and "<!subteam^SGROUP>" in fallback


def test_options_read_in_words() -> None:
    blocks = ui.request_blocks(_request(RequestState.PENDING))
    fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    assert "*Options*\n1-year term, billed annually, 25 seats" in fields
    assert "term=" not in json.dumps(blocks) and "billing=" not in json.dumps(blocks)
    assert ui.options_in_words(ChangeOptions()) == "Current term, billing and seats"
    assert ui.options_in_words(ChangeOptions(term="P3Y", billing="triennial", quantity=1, full_term=True)) == (
        "3-year term, billed every 3 years, 1 seat, a full new term")
    assert ui.options_in_words(ChangeOptions(target_date=date(2026, 12, 5), addons="none")) == (
        "Without its add-ons, migrates on 2026-12-05")


def test_ids_move_to_the_context_line() -> None:
    blocks = ui.request_blocks(_request(RequestState.PENDING))
    fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    assert not any(RID in f for f in fields) and not any(C in f for f in fields)
    assert "*Customer*\nContoso Ltd" in fields and "*Subscription*\nOffice 365 E3" in fields
    context = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert any(f"`{RID}`" in t and f"`{C}`" in t and f"`{S}`" in t for t in context)


def test_outcome_is_a_section_not_grey_context() -> None:
    blocks = ui.request_blocks(_request(RequestState.COMPLETED, new_subscription_id="n1"))
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert ":tada: Completed: new NCE subscription `n1`" in sections


def test_cancelled_schedule_header_reads_cancelled() -> None:
    request = _request(RequestState.FAILED, kind=RequestKind.SCHEDULE, schedule_id="sch-9",
                       error_code="ScheduleCancelled", error_description="cancelled by request `r2`")
    assert _header(ui.request_blocks(request)).endswith("Schedule a migration · Cancelled")


def test_home_tab_has_no_decision_buttons_on_the_viewers_own_requests() -> None:
    own = _request(RequestState.PENDING, id="a" * 32, requester="UAPP")
    other = _request(RequestState.PENDING, id="b" * 32, requester="UREQ")
    view = ui.home_view("UAPP", [own, other], [own], True)
    values = [e["value"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert values == ["b" * 32, "b" * 32]
    assert "another approver decides" in json.dumps(view)
    allowed = ui.home_view("UAPP", [own], [], True, self_approval=True)
    assert [b for b in allowed["blocks"] if b["type"] == "actions"]


def test_no_setting_names_are_shown_to_people() -> None:
    view = ui.home_view("UREQ", [], [], False)
    assert "NCEBOT_" not in json.dumps(view) and "The approvers decide" in json.dumps(view)


def test_one_error_style() -> None:
    from bot.app import friendly_error

    decided = _request(RequestState.APPROVED)
    cases = [
        friendly_error(NotAuthorized("Only approvers can approve or reject requests.")),
        friendly_error(InvalidInput(f"Subscription {S} is not a legacy subscription", field="subscription")),
        friendly_error(NotFound(f"Request {RID} does not exist.")),
        friendly_error(AlreadyDecided(decided)),
        friendly_error(PartnerCenterError("Subscription <b>busy</b>", status_code=400, code="800002")),
        friendly_error(RuntimeError("kaput-secret-detail")),
    ]
    for text in cases:
        emoji, _, rest = text.partition(" ")
        assert emoji.startswith(":") and emoji.endswith(":"), text
        assert rest[0].isupper() and ". " in rest and rest.endswith("."), text  # what went wrong. What to do.
        assert "NCEBOT_" not in text
    assert f"`{S}`" in cases[1] and f"`{RID}`" in cases[2] and "already approved by <@UAPP>" in cases[3]
    assert "&lt;b&gt;busy&lt;/b&gt;" in cases[4] and "`800002`" in cases[4]
    assert "Traceback" not in cases[5] and "kaput-secret-detail" not in cases[5]


def test_a_decided_bulk_request_drops_its_eligibility_list() -> None:
    from bot.domain import EligibilityReason

    outcome = ValidationOutcome(customer_id=C, subscription_id="", eligible=True,
                                reasons=(EligibilityReason(S, 5, "not available"),))
    items = [{"target": S, "name": "Sub", "catalog_item_id": "X", "body": {}}]
    pending = _request(RequestState.PENDING, kind=RequestKind.BULK, subscription_id=None, validation=outcome,
                       subscription_name="1 subscription(s)")
    assert "Left out (1)" in json.dumps(ui.request_blocks(pending, items))
    rejected = _request(RequestState.REJECTED, kind=RequestKind.BULK, subscription_id=None, validation=outcome,
                        subscription_name="1 subscription(s)", reject_reason="later")
    text = json.dumps(ui.request_blocks(rejected, items))
    assert "Left out" not in text and "will be migrated now" not in text and "1 subscription(s) in this request" in text
    assert _header(ui.request_blocks(rejected, items)).endswith("Bulk migration · Rejected")


def test_a_cancelled_schedule_keeps_the_trackers_own_mentions() -> None:
    request = _request(RequestState.FAILED, kind=RequestKind.SCHEDULE, schedule_id="sch-9",
                       error_code="ScheduleCancelled",
                       error_description="cancelled by request r2 (asked by <@UALICE>, approved by <@UCAROL>)")
    line = ui.progress_line(request)
    assert line is not None and "asked by <@UALICE>, approved by <@UCAROL>" in line
