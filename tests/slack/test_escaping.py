"""Issue #9 point 6: what people and Partner Center write is shown as text, never as a mention or a link.

Every builder that shows such text is fed the injection strings; every text field of the built blocks (and the
``text`` fallbacks and error replies) is then walked: no unescaped ``<!``, ``<@``, ``<#`` or ``<http`` may
remain besides the bot's own mentions of the configured people and groups."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.domain import (
    ChangeOptions,
    EligibilityReason,
    InvalidInput,
    RequestKind,
    RequestState,
    RequestView,
    ValidationOutcome,
    Vote,
)
from bot.partner_center.errors import PartnerCenterError
from bot.partner_center.models import Customer, Migration, MigrationEvent, MigrationSchedule, Subscription
from bot.reports import CheckReason, CheckReport, CheckResult, CheckRow
from bot.slack import blocks as ui
from bot.tracking.tracker import failed_text
from bot.workflow import MigrationStatusView, SubscriptionNode

INJECTIONS = [
    "<!channel>",
    "<!here> look",
    "<!everyone>",
    "<@U0EVIL> is great",
    "<@W0EVIL>",
    "<!subteam^S0EVIL|@admins>",
    "<https://evil.example|docs>",
    "<http://evil.example>",
    "<#C0EVIL>",
    "<!date^1392734382^{date}|x>",
    "a < b && c > d",
]
C = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"
S = "9beb6319-6889-4d28-a155-68ca9c783842"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
# The bot's own mentions: the requester, the deciders and the configured approvers.
OWN = {"<@UREQ>", "<@UAPP>", "<!subteam^SGROUP>", "<#C0APPROVALS>"}
CONTROL = re.compile(r"<[!@#]|<https?:")
# ncebot's own times (bot.slack.blocks.common.fmt_time): exactly this shape, its fallback our UTC time, never text
# from outside.
OWN_TIME = re.compile(r"<!date\^\d+\^\{date_short_pretty\} at \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>")


def _texts(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                out.append(value)
            else:
                out += _texts(value)
    elif isinstance(node, list):
        for value in node:
            out += _texts(value)
    elif isinstance(node, str):
        out.append(node)
    return out


def _assert_inert(rendered: Any, evil: str) -> None:
    texts = _texts(rendered)
    assert texts
    joined = "\n".join(texts)
    for own in OWN:
        joined = joined.replace(own, "")
    joined = OWN_TIME.sub("", joined)
    assert not CONTROL.search(joined), joined
    if evil:  # the text is still there, escaped (shown as typed), not dropped
        assert ui.esc(evil)[:10] in joined


def _request(state: RequestState, evil: str, **extra: Any) -> RequestView:
    outcome = ValidationOutcome(
        customer_id=C, subscription_id=S, eligible=state is not RequestState.FAILED, catalog_item_id=evil,
        term=evil, billing=evil, subscription_name=evil, customer_name=evil,
        reasons=(EligibilityReason(S, evil, evil),))
    base: dict[str, Any] = dict(
        id="0123456789abcdef0123456789abcdef", kind=RequestKind.MIGRATE, state=state, customer_id=C,
        subscription_id=S, requester="UREQ", created_at=NOW, expires_at=NOW + timedelta(hours=1),
        customer_name=evil, subscription_name=evil, validation=outcome, options=ChangeOptions(term=evil,
                                                                                              billing=evil),
        votes=(Vote("UAPP", NOW),), decided_by=("UAPP",), decided_at=NOW, reject_reason=evil,
        error_code=evil, error_description=evil, migration_id=evil, new_subscription_id=evil, schedule_id=evil)
    base.update(extra)
    return RequestView(**base)


@pytest.mark.parametrize("evil", INJECTIONS)
@pytest.mark.parametrize("state", list(RequestState))
def test_request_message_in_every_state(evil: str, state: RequestState) -> None:
    for kind in RequestKind:
        request = _request(state, evil, kind=kind)
        items = [{"target": S, "name": evil, "catalog_item_id": evil, "body": {}}]
        _assert_inert(ui.request_blocks(request, items, approvers=("UAPP", "SGROUP")), evil)
        _assert_inert(ui.request_text(request, ("UAPP", "SGROUP")), evil)
        _assert_inert(ui.confirmation_text(request, None), "")
        _assert_inert(ui.home_view("UAPP", [request], [request], True, notice=None), evil)
        _assert_inert(ui.pending_blocks([request]), evil)
        _assert_inert(ui.reject_modal(request, ui.ModalMetadata(kind="reject")), "")


@pytest.mark.parametrize("evil", INJECTIONS)
def test_partner_center_texts(evil: str) -> None:
    sub = Subscription(id=S, friendly_name=evil, offer_name=evil, status=evil, term_duration=evil,
                       billing_cycle=evil, quantity=3)
    _assert_inert(ui.subscriptions_blocks(C, [SubscriptionNode(sub, (SubscriptionNode(sub),))]), evil)
    schedule = MigrationSchedule(id=evil, current_subscription_id=evil, status=evil, term_duration=evil,
                                 billing_cycle=evil, target_date=NOW)
    _assert_inert(ui.schedules_blocks(C, [schedule]), evil)
    migration = Migration(id=evil, status=evil, current_subscription_id=evil, error_code=evil,
                          error_description=evil, new_commerce_subscription_id=evil)
    events = (MigrationEvent(event_name=evil, created_time=NOW),)
    _assert_inert(ui.status_blocks(C, MigrationStatusView(migration, events)), evil)
    outcome = ValidationOutcome(customer_id=C, subscription_id=S, eligible=False, subscription_name=evil,
                                customer_name=evil, reasons=(EligibilityReason(evil, evil, evil),))
    _assert_inert(ui.validation_blocks(outcome), evil)
    row = CheckRow(customer_tenant_id=C, subscription_id=S, subscription_name=evil, result=CheckResult.INELIGIBLE,
                   reasons=(CheckReason(evil, evil),))
    report = CheckReport(customer_id=C, customer_name=evil, generated_at=NOW, rows=(row,), notes=(evil,))
    _assert_inert(ui.check_blocks(report), evil)
    _assert_inert(failed_text("UREQ", Migration(id="m1", error_code=evil, error_description=evil), None), evil)
    # The customer picker's options are plain_text (never parsed by Slack): shown as written.
    options = ui.customer_options([Customer.model_validate({"id": C, "companyProfile": {"companyName": evil}})])
    assert options[0]["text"] == {"type": "plain_text", "text": evil, "emoji": True}


@pytest.mark.parametrize("evil", INJECTIONS)
def test_error_replies(evil: str) -> None:
    from bot.app import friendly_error

    for error in (InvalidInput(f"quantity must be a whole number, got {evil!r}", field="quantity"),
                  PartnerCenterError(evil, status_code=400, code=evil)):
        _assert_inert(friendly_error(error), evil)


def test_the_bots_own_mentions_stay_live() -> None:
    request = _request(RequestState.PENDING, "<!channel>", decided_by=(), decided_at=None)
    text = json.dumps(ui.request_blocks(request, approvers=("UAPP", "SGROUP")))
    assert "<@UREQ>" in text and "<@UAPP>" in text and "<!subteam^SGROUP>" in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert ui.esc("a & <b> c") == "a &amp; &lt;b&gt; c"
    assert ui.code(date(2025, 1, 2)) == "`2025-01-02`"


def test_the_bots_own_help_escapes_its_placeholders() -> None:
    texts = [*_texts(ui.help_blocks()), ui.help_text(), *_texts(ui.home_view("UREQ", [], [], False))]
    joined = "\n".join(texts)
    assert "&lt;customer&gt;" in joined and "&lt;id&gt;" in joined
    assert "<customer>" not in joined and "<id>" not in joined


@pytest.mark.parametrize("evil", INJECTIONS)
def test_membership_refusal_escapes_the_group_handle_and_keeps_its_own_mention(evil: str) -> None:
    from bot.app import friendly_error
    from bot.domain import MembershipUnconfirmed

    _assert_inert(friendly_error(MembershipUnconfirmed("S0GROUP", evil)), evil)
    assert "<!subteam^S0GROUP>" in friendly_error(MembershipUnconfirmed("S0GROUP"))
