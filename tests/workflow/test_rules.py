"""The unified input rules (``bot.rules``): one answer for a value whether it comes from ``/nce``, a modal or the
workflow itself. Tables for the known edges, hypothesis for the digit rule; plus the approval arithmetic that the
workflow and ``ncebot doctor`` share."""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.doctor import check_approval_rules
from bot.domain import InvalidInput
from bot.rules import (
    MAX_QUANTITY,
    MAX_REASON,
    approval_shortfall,
    check_reason,
    check_timing,
    parse_date,
    parse_quantity,
    possible_approvers,
    require_guid,
)
from bot.settings import load_settings
from bot.slack import ids
from bot.slack.commands import parse_command
from bot.slack.forms import FormErrors, read_change_form, read_reason

C = "75c5e79e-7e9f-429f-b772-ed3d38768f7c"
S = "9beb6319-6889-4d28-a155-68ca9c783842"
TODAY = date(2026, 6, 1)

# Unicode digits int() refuses (superscripts) or quietly converts (Arabic-Indic, full-width, Devanagari).
NON_ASCII_DIGITS = ["\u00b2", "1\u00b2", "\u0663", "\uff13", "\uff11\uff10", "\u0967", "\u2460", "\U0001d7d9"]
BAD_QUANTITIES = [*NON_ASCII_DIGITS, "0", "-1", "+1", "1_000", "1e3", "1.0", " ", "x", str(MAX_QUANTITY + 1)]


def _form(quantity: str) -> dict[str, Any]:
    return {ids.CUSTOMER_BLOCK: {ids.CUSTOMER_SELECT: {"selected_option": {"value": C}}},
            ids.SUBSCRIPTION_BLOCK: {ids.SUBSCRIPTION_SELECT: {"selected_option": {"value": S}}},
            ids.QUANTITY_BLOCK: {ids.QUANTITY_INPUT: {"value": quantity}}}


@pytest.mark.parametrize("value", BAD_QUANTITIES)
def test_bad_quantity_gets_the_quantity_message_everywhere(value: str) -> None:
    with pytest.raises(InvalidInput) as direct:
        parse_quantity(value)
    assert direct.value.field == "quantity" and "`quantity` must be a whole number of seats" in str(direct.value)
    if value.strip():
        with pytest.raises(InvalidInput) as command:
            parse_command(f"migrate {C} {S} quantity={value}")
        assert command.value.field == "quantity" and str(command.value) == str(direct.value)
        with pytest.raises(FormErrors) as form:
            read_change_form(_form(value), kind="migrate", today=TODAY)
        assert form.value.errors == {ids.QUANTITY_BLOCK: "Seats must be a whole number from 1."}


@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=8))
def test_only_ascii_digits_make_a_quantity(text: str) -> None:
    ascii_number = text.isascii() and 1 <= int(text) <= MAX_QUANTITY
    try:
        assert parse_quantity(text) == int(text) and ascii_number
    except InvalidInput as exc:
        assert not ascii_number and exc.field == "quantity"


@given(st.lists(st.characters(categories=["Nd"]), min_size=8, max_size=8))
def test_only_ascii_digits_make_a_date(digits: list[str]) -> None:
    text = "".join(digits[:4]) + "-" + "".join(digits[4:6]) + "-" + "".join(digits[6:])
    try:
        parsed = parse_date(text, "date")
    except InvalidInput as exc:
        assert exc.field == "date"
        assert ("must be a date as YYYY-MM-DD" in str(exc)) != text.isascii()  # else: "not a real date"
    else:
        assert text.isascii() and parsed.isoformat() == text


@pytest.mark.parametrize("digit", [c for c in NON_ASCII_DIGITS if len(c) == 1 and unicodedata.decimal(c, None)
                                   is not None])
def test_unicode_digit_dates_are_refused_by_the_command_and_the_modal(digit: str) -> None:
    text = f"2030-01-0{digit}"
    with pytest.raises(InvalidInput) as command:
        parse_command(f"schedule {C} {S} date={text}")
    assert command.value.field == "date" and "must be a date as YYYY-MM-DD" in str(command.value)
    values = {**_form("1"), ids.TARGET_DATE_BLOCK: {ids.TARGET_DATE_INPUT: {"selected_date": text}}}
    with pytest.raises(FormErrors) as form:
        read_change_form(values, kind="schedule", today=TODAY)
    assert "must be a date as YYYY-MM-DD" in form.value.errors[ids.TARGET_DATE_BLOCK]


@pytest.mark.parametrize("value", [f"{C}\n{S}", C + "0", " " + C.replace("-", ""), C.replace("7", "\uff17", 1), "",
                                   None])
def test_guid_rule(value: str | None) -> None:
    with pytest.raises(InvalidInput) as err:
        require_guid(value, "customer")
    assert err.value.field == "customer" and "not a valid customer id" in str(err.value)
    assert require_guid(f"  {C.upper()} ", "customer") == C


def test_reason_limit_is_one_number() -> None:
    ok = "x" * MAX_REASON
    assert check_reason(ok) == ok
    assert read_reason({ids.REASON_BLOCK: {ids.REASON_INPUT: {"value": ok}}}) == ok
    with pytest.raises(InvalidInput) as err:
        check_reason(ok + "x")
    with pytest.raises(FormErrors) as form:
        read_reason({ids.REASON_BLOCK: {ids.REASON_INPUT: {"value": ok + "x"}}})
    assert form.value.errors[ids.REASON_BLOCK] == str(err.value)


@pytest.mark.parametrize(("target", "on_renewal", "term_end", "words"), [
    (TODAY, False, None, "must be in the future"),
    (TODAY + timedelta(days=40), False, TODAY + timedelta(days=39), "after the subscription's term end 2026-07-10"),
    (TODAY + timedelta(days=3), True, None, "not both"),
    (None, False, None, "Choose the date"),
])
def test_timing_rule(target: date | None, on_renewal: bool, term_end: date | None, words: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_timing(target, on_renewal, TODAY, required=True, term_end=term_end)
    assert err.value.field == "date" and words in str(err.value)
    check_timing(TODAY + timedelta(days=39), False, TODAY, required=True, term_end=TODAY + timedelta(days=39))


@pytest.mark.parametrize(("approvers", "requester", "required", "allow_self", "possible"), [
    (("U1", "U2"), "U1", 2, False, None),
    (("U1", "U2"), "U1", 2, True, "ok"),
    (("U1", "U2"), "U3", 2, False, "ok"),
    (("U1",), "U1", 1, False, None),
    (("U1", "U2", "U3"), "U1", 2, False, "ok"),
])
def test_approval_arithmetic(approvers: tuple[str, ...], requester: str, required: int, allow_self: bool,
                             possible: str | None) -> None:
    who = possible_approvers(approvers, requester, allow_self_approval=allow_self)
    why = approval_shortfall(required, who, allow_self_approval=allow_self)
    assert (why is None) == (possible == "ok")
    if why is not None:
        assert f"needs {required} distinct approval(s)" in why


@pytest.mark.parametrize(("env", "mark", "words"), [
    ({"NCEBOT_APPROVERS": "U01,U02", "NCEBOT_REQUIRED_APPROVALS": "2"}, "⚠", "requests by U01, U02 can never be"),
    ({"NCEBOT_APPROVERS": "U01,U02", "NCEBOT_REQUIRED_APPROVALS": "2", "NCEBOT_REQUESTERS": "U01"}, "✗",
     "requests by U01 can never be"),
    ({"NCEBOT_APPROVERS": "U01,U02", "NCEBOT_REQUIRED_APPROVALS": "2", "NCEBOT_ALLOW_SELF_APPROVAL": "true"}, "✓",
     "every request can be approved"),
    ({"NCEBOT_APPROVERS": "U01,U02,U03", "NCEBOT_REQUIRED_APPROVALS": "2"}, "✓", "every request can be approved"),
])
def test_doctor_warns_about_unapprovable_rules(env: dict[str, str], mark: str, words: str) -> None:
    line = check_approval_rules(load_settings(env)).render()
    assert line.startswith(f"{mark} approval rules: ") and words in line
    if mark != "✓":
        assert "NCEBOT_ALLOW_SELF_APPROVAL=true" in line and "lower NCEBOT_REQUIRED_APPROVALS to 1" in line
