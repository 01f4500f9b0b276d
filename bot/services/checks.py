"""The check report (``/nce check``): the eligibility of every legacy subscription of a customer, as BAM's export
does. Moved verbatim from ``bot.workflow.Workflow.check_customer``; the catalogue gives it names, add-on selection
and the migration body.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.domain import ChangeOptions, Clock
from bot.partner_center.api import PartnerCenterApi
from bot.partner_center.errors import PartnerCenterAuthError, PartnerCenterError, PartnerCenterUnavailable
from bot.partner_center.models import MigrationValidation, Subscription, SubscriptionStatus
from bot.reports import (
    REASON_BASE,
    REASON_BASE_SKIPPED,
    REASON_ERROR,
    REASON_NCE,
    REASON_TRIAL,
    CheckReason,
    CheckReport,
    CheckResult,
    CheckRow,
)
from bot.services.catalogue import Catalogue, by_name, legacy_tree
from bot.services.errors import PartnerCenterProblem
from bot.services.plumbing import ServicePlumbing
from bot.texts import eligibility, refusals


class CustomerChecks(ServicePlumbing):
    """``/nce check``: one validate per candidate base, every other subscription listed with its reason."""

    def __init__(self, *, partner_center: PartnerCenterApi, catalogue: Catalogue, clock: Clock) -> None:
        self._pc = partner_center
        self._catalogue = catalogue
        self._clock = clock

    def check_customer(self, customer_id: str, *, partner_tenant_id: str | None = None,
                       progress: Callable[[int, int], None] | None = None) -> CheckReport:
        """Eligibility of every legacy subscription of a customer (``/nce check``), as BAM's export does.

        Candidate bases (legacy, active, not a trial, no promotion) are validated one after another (the
        client's limiter paces them) with all their active add-ons; each add-on's eligibility is read from the
        answer's ``addOnMigrations``. Everything else is listed as ``skipped`` with its reason. A refusal of one
        validate (4xx) becomes an ``error`` row; an unknown customer or an unreachable Partner Center raises.
        ``progress(done, total)``: validations made of those to make (first ``(0, total)`` once listed; SPEC §9).
        """
        customer_id = self._guid(customer_id, "customer")
        subs = self._read_pc("listing subscriptions", lambda: self._pc.list_subscriptions(customer_id))
        customer_name = self._catalogue.customer_name(customer_id) or ""
        legacy, children, roots = legacy_tree(subs)
        by_id = {s.id.lower(): s for s in legacy}

        def order(items: Sequence[Subscription]) -> list[Subscription]:
            return sorted(items, key=by_name)

        def skip_reasons(sub: Subscription) -> list[CheckReason]:
            found: list[CheckReason] = []
            status = sub.status
            if status is not None and status != SubscriptionStatus.ACTIVE:
                text = str(getattr(status, "value", status))
                found.append(CheckReason(0, eligibility.not_active(text), sub.id))
            if sub.is_trial:
                found.append(CheckReason(REASON_TRIAL, eligibility.TRIAL, sub.id))
            if sub.promotion_id:
                found.append(CheckReason(3, eligibility.promotion(sub.promotion_id), sub.id))
            return found

        def base_row(sub: Subscription, base: Subscription | None, **values: Any) -> CheckRow:
            status = sub.status
            return CheckRow(
                customer_tenant_id=customer_id,
                subscription_id=sub.id,
                subscription_name=sub.name,
                partner_tenant_id=partner_tenant_id or "",
                indirect_reseller_mpn_id=sub.partner_id or "",
                customer_name=customer_name,
                product_name=sub.offer_name or "",
                offer_id=sub.offer_id or "",
                status=str(getattr(status, "value", status)) if status is not None else "",
                expiration_date=sub.term_end,
                auto_renew=sub.auto_renew_enabled,
                current_term=str(getattr(sub.term_duration, "value", sub.term_duration) or ""),
                current_billing=str(getattr(sub.billing_cycle, "value", sub.billing_cycle) or ""),
                seat_count=sub.quantity,
                is_addon=base is not None,
                base_subscription_id=base.id if base is not None else "",
                is_trial=bool(sub.is_trial),
                promotion_id=sub.promotion_id or "",
                **values,
            )

        def answered(sub: Subscription, base: Subscription | None, answer: MigrationValidation,
                     bundle_ok: bool) -> CheckRow:
            reasons = [
                CheckReason(err.code, err.description, answer.current_subscription_id or sub.id)
                for err in answer.errors
            ]
            own_ok = answer.is_eligible and not reasons
            if own_ok and not bundle_ok:
                reasons.append(CheckReason(REASON_BASE, eligibility.BUNDLE_NOT_ELIGIBLE, sub.id))
            end = answer.custom_term_end_date
            return base_row(
                sub,
                base,
                result=CheckResult.ELIGIBLE if own_ok and bundle_ok else CheckResult.INELIGIBLE,
                catalog_item_id=answer.catalog_item_id,
                target_term=str(getattr(answer.term_duration, "value", answer.term_duration) or ""),
                target_billing=str(getattr(answer.billing_cycle, "value", answer.billing_cycle) or "").lower(),
                target_end_date=end.date() if end else None,
                reasons=tuple(reasons),
            )

        rows: list[CheckRow] = []
        calls = 0

        def walk_skipped(parent: Subscription, why: str) -> None:
            for child in order(children[parent.id.lower()]):
                own = skip_reasons(child)
                rows.append(base_row(child, parent, result=CheckResult.SKIPPED,
                                     reasons=tuple(own) or (CheckReason(REASON_BASE_SKIPPED, why, child.id),)))
                walk_skipped(child, why)

        def walk_validated(parent: Subscription, flat: dict[str, MigrationValidation], bundle_ok: bool) -> None:
            for child in order(children[parent.id.lower()]):
                found = flat.get(child.id.lower())
                if found is not None:
                    rows.append(answered(child, parent, found, bundle_ok))
                else:
                    own = skip_reasons(child) or [CheckReason(REASON_BASE_SKIPPED, eligibility.NOT_IN_BUNDLE, child.id)]
                    rows.append(base_row(child, parent, result=CheckResult.SKIPPED, reasons=tuple(own)))
                walk_validated(child, flat, bundle_ok)

        to_validate = sum(1 for root in roots if not skip_reasons(root))
        if progress is not None:
            progress(0, to_validate)
        for root in order(roots):
            root_base = by_id.get((root.parent_subscription_id or "").lower())  # an orphan add-on: sent on its own
            skipped = skip_reasons(root)
            if skipped:
                rows.append(base_row(root, root_base, result=CheckResult.SKIPPED, reasons=tuple(skipped)))
                walk_skipped(root, eligibility.base_not_validated(root.id))
                continue
            addon_ids = self._catalogue.select_addons(root, legacy, ChangeOptions())
            body = self._catalogue.migration_body(root.id, ChangeOptions(), addon_ids)
            calls += 1
            if progress is not None and calls > 1:
                progress(calls - 1, to_validate)
            try:
                answer = self._pc.validate_migration(customer_id, body)
            except PartnerCenterUnavailable as exc:
                # A report full of "unavailable" rows would mislead: stop and say so.
                raise PartnerCenterProblem(refusals.pc_not_answering(eligibility.validating(root.id))) from exc
            except PartnerCenterAuthError as exc:
                raise PartnerCenterProblem(refusals.pc_sign_in_failed("validation", exc)) from exc
            except PartnerCenterError as exc:
                reason = CheckReason(exc.code if exc.code is not None else REASON_ERROR,
                                     eligibility.validation_refused(exc.description), root.id)
                rows.append(base_row(root, root_base, result=CheckResult.ERROR, reasons=(reason,)))
                walk_skipped(root, eligibility.base_could_not_be_validated(root.id))
                continue
            flat = answer.flat_add_ons()
            bundle_ok = bool(answer.is_eligible and not answer.errors and all(
                a.is_eligible and not a.errors for a in flat.values()
            ))
            rows.append(answered(root, root_base, answer, bundle_ok))

            walk_validated(root, flat, bundle_ok)

        for sub in order([s for s in subs if s.is_nce]):
            rows.append(
                base_row(
                    sub,
                    None,
                    result=CheckResult.SKIPPED,
                    reasons=(CheckReason(REASON_NCE, eligibility.already_nce(sub.migrated_from_subscription_id),
                                         sub.id),),
                )
            )
        return CheckReport(
            customer_id=customer_id,
            customer_name=customer_name,
            generated_at=self._now(),
            rows=tuple(rows),
            partner_tenant_id=partner_tenant_id or "",
            validate_calls=calls,
        )
