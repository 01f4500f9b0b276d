"""Eligibility: parsing a migration request, resolving its add-on bundle, the eligibility codes 0-12, and the
validate route. Create and schedule share :meth:`Eligibility._check_create` (reference: partner-center-nce-api.md;
choices where it is silent: sandbox/README.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sandbox.catalogue import Catalogue
from sandbox.errors import ApiError, bad_request
from sandbox.model import (
    BILLING_OUT,
    CREATE_ERRORS,
    DESCRIPTIONS,
    TERM_BILLING,
    TERM_MONTHS,
    Customer,
    Item,
    Subscription,
    add_months,
    is_month_end,
    iso,
    parse_datetime,
    require_guid,
)


class Eligibility(Catalogue):
    """Request parsing and eligibility on top of the catalogue."""

    # ----------------------------------------------------------------------------------- parsing

    def parse_item(self, body: Any, where: str = "body") -> dict[str, Any]:
        """Validate one (lower-cased) migration entry; returns the given fields, normalised."""
        if not isinstance(body, dict):
            raise bad_request(f"The {where} must be a JSON object.")
        out: dict[str, Any] = {"sub_id": require_guid(body.get("currentsubscriptionid"), "currentSubscriptionId")}
        term = body.get("termduration")
        if term is not None:
            if not isinstance(term, str) or term.upper() not in TERM_MONTHS:
                raise bad_request(f"termDuration {term!r} is not one of P1M, P1Y, P3Y.")
            out["term"] = term.upper()
        billing = body.get("billingcycle")
        if billing is not None:
            if not isinstance(billing, str) or billing.lower() not in BILLING_OUT:
                raise bad_request(f"billingCycle {billing!r} is not one of Monthly, Annual, Triennial.")
            out["billing"] = billing.lower()
        pft = body.get("purchasefullterm")
        if pft is not None:
            if not isinstance(pft, bool):
                raise bad_request("purchaseFullTerm must be true or false.")
            out["pft"] = pft
        quantity = body.get("quantity")
        if quantity is not None:
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise bad_request(f"quantity must be a positive integer; got {quantity!r}.")
            out["quantity"] = quantity
        if body.get("customtermenddate") is not None:
            out["custom_end"] = parse_datetime(body["customtermenddate"], "customTermEndDate")
        return out

    def make_item(self, sub: Subscription, given: dict[str, Any]) -> Item:
        offer = self.offers.get(sub.offer_id.lower())
        return Item(
            sub_id=sub.id,
            term=given.get("term", sub.term_duration),
            billing=given.get("billing", sub.billing_cycle),
            quantity=given.get("quantity", sub.quantity),
            purchase_full_term=given.get("pft", False),
            custom_end=given.get("custom_end"),
            catalog_item_id=offer.nce if offer else None,
        )

    # ----------------------------------------------------------------------------------- eligibility

    def eligibility(
        self, customer: Customer, sub: Subscription, item: Item, now: datetime, term_checks: bool = True
    ) -> list[tuple[int, str, int]]:
        """Problems as (eligibility code, description, Partner Center error code for create)."""
        errors: list[tuple[int, str, int]] = []

        def add(code: int, description: str | None = None, create_code: int | None = None) -> None:
            errors.append((code, description or DESCRIPTIONS[code], create_code or CREATE_ERRORS[code][1]))

        offer = self.offers.get(sub.offer_id.lower())
        if sub.is_nce:
            add(5, "Subscription is already a New Commerce subscription.")
            return errors
        if sub.migrating or sub.processing:
            add(1)
        elif sub.status != "active":
            add(0)
        if sub.is_trial:
            add(5, "Trial subscriptions cannot be migrated to New Commerce; convert the trial to paid first.")
        if sub.promotion_id:
            add(3)
        if offer is None or not offer.nce:
            add(5)
        if now - sub.created < timedelta(days=30):
            add(7)
        if sub.trade_blocked:
            add(8)
        if sub.invalid_partner_id:
            add(9)
        if term_checks:
            remaining = sub.term_end - now
            if remaining < timedelta(hours=1):
                add(2)
            elif remaining < timedelta(hours=24) and not item.purchase_full_term:
                add(10)
        allowed = TERM_BILLING.get(item.term, [])
        if offer and offer.terms is not None:
            allowed = [b for b in allowed if b in offer.terms.get(item.term, [])]
        if item.billing not in allowed:
            add(
                6,
                f"The combination of term duration {item.term} and billing cycle "
                f"{BILLING_OUT.get(item.billing, item.billing)} is not supported for this New Commerce offer.",
            )
        first_term_end = add_months(now, TERM_MONTHS[item.term]) if item.purchase_full_term else sub.term_end
        item.end_date = first_term_end
        if item.custom_end is not None:
            end = item.custom_end
            anchors = {
                s.term_end.date()
                for s in customer.subs.values()
                if s.is_nce and s.status == "active" and not s.is_trial
            }
            if not (is_month_end(end.date()) or end.date() in anchors):
                add(
                    12,
                    f"The customTermEndDate {end.date()} must align with the end date of an existing active non-trial "
                    "OnlineServicesNCE subscription of this customer or with the end of a calendar month.",
                )
            elif end <= now:
                add(11, f"The customTermEndDate {end.date()} is invalid: it lies in the past.", 900242)
            elif end.date() > first_term_end.date():
                add(
                    11,
                    f"The customTermEndDate {end.date()} is not within the first term, which ends "
                    f"{first_term_end.date()}.",
                    900291,
                )
            else:
                item.end_date = end
        return errors

    def _bundle(
        self, customer: Customer, base: Subscription, addons: list[dict[str, Any]] | None, strict: bool
    ) -> tuple[list[tuple[Subscription, dict[str, Any]]], list[str]]:
        """Resolve the add-ons of a request. Returns (add-on entries, missing active add-on ids)."""
        active = self.descendants(customer, base.id, active=True)
        if addons is None:
            return [(sub, {}) for sub in active], []
        seen: set[str] = set()
        dupes: set[str] = set()
        for entry in addons:
            (dupes if entry["sub_id"] in seen else seen).add(entry["sub_id"])
        if dupes:
            raise ApiError(
                400, 900248, f"addOnMigrations contains duplicate subscription ids: {', '.join(sorted(dupes))}."
            )
        below = {s.id for s in self.descendants(customer, base.id)}
        out: list[tuple[Subscription, dict[str, Any]]] = []
        for entry in addons:
            sub = customer.subs.get(entry["sub_id"])
            if sub is None or sub.id not in below or sub.status != "active":
                raise ApiError(
                    400,
                    900262,
                    f"Add-on subscription {entry['sub_id']} in addOnMigrations does not exist, is not an add-on of "
                    f"{base.id} or is not active.",
                )
            out.append((sub, entry))
        missing = [s.id for s in active if s.id not in seen]
        if missing and strict:
            raise ApiError(
                400,
                900219,
                f"Subscription {base.id} has active add-ons that must be migrated with it; add them to "
                f"addOnMigrations: {', '.join(missing)}.",
            )
        return out, missing

    def _parse_request(self, body: Any, addon_key: str) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        top = self.parse_item(body)
        raw_addons = body.get(addon_key)
        if raw_addons is None and addon_key == "addonmigrationschedules":
            raw_addons = body.get("addonmigrations")  # the docs example uses this name for schedules too
        if raw_addons is None:
            return top, None
        if not isinstance(raw_addons, list):
            raise bad_request(f"{addon_key} must be a JSON array.")
        return top, [self.parse_item(a, "add-on entry") for a in raw_addons]

    def _check_create(
        self, customer: Customer, body: Any, addon_key: str, now: datetime, term_checks: bool = True
    ) -> list[Item]:
        """Everything create and schedule share: parse, resolve bundle, eligibility → 4xx on any problem."""
        top, addons = self._parse_request(body, addon_key)
        base = self.subscription(customer, top["sub_id"])
        entries, _ = self._bundle(customer, base, addons, strict=True)
        recent = self.recent_addons(customer, base, now)
        if recent and not base.is_nce:
            raise ApiError(
                400,
                900219,
                f"An add-on of subscription {base.id} was purchased within the last 30 days ({', '.join(recent)}); "
                "the subscription and its add-ons cannot be migrated until 30 days after that purchase.",
                [{"code": 4, "description": DESCRIPTIONS.get(4, "add-ons present")}],
            )
        items = [self.make_item(base, top)] + [self.make_item(sub, given) for sub, given in entries]
        subs = [base] + [sub for sub, _ in entries]
        for sub, item in zip(subs, items, strict=True):
            problems = self.eligibility(customer, sub, item, now, term_checks)
            if problems:
                code, description, create_code = problems[0]
                status = CREATE_ERRORS[code][0]
                if sub is not base:
                    status, create_code = 400, 900221
                    description = f"Add-on {sub.id} cannot be migrated: {description}"
                raise ApiError(
                    status, create_code, description, [{"code": c, "description": d} for c, d, _ in problems]
                )
        return items

    # ----------------------------------------------------------------------------------- validate

    def validate(self, customer_id: str, body: Any) -> dict[str, Any]:
        customer = self.customer(customer_id)
        top, addons = self._parse_request(body, "addonmigrations")
        base = self.subscription(customer, top["sub_id"])
        now = self.now()
        entries, missing = self._bundle(customer, base, addons, strict=False)
        base_item = self.make_item(base, top)
        base_errors = [(c, d) for c, d, _ in self.eligibility(customer, base, base_item, now)]
        results = []
        for sub, given in entries:
            item = self.make_item(sub, given)
            errs = [(c, d) for c, d, _ in self.eligibility(customer, sub, item, now)]
            results.append(self._validation_json(item, errs))
        bad_addons = [r["currentSubscriptionId"] for r in results if not r["isEligible"]]
        recent = self.recent_addons(customer, base, now)
        if recent:
            base_errors.append(
                (
                    4,
                    f"An add-on was purchased within the last 30 days ({', '.join(recent)}); the "
                    "subscription and its add-ons cannot be migrated until 30 days after that purchase.",
                )
            )
        elif bad_addons:
            base_errors.append(
                (4, f"Subscription has add-ons that are not eligible for migration: {', '.join(bad_addons)}.")
            )
        if missing:
            base_errors.append(
                (4, f"All active add-ons must be migrated with the subscription; missing: {', '.join(missing)}.")
            )
        answer = self._validation_json(base_item, base_errors)
        if results:
            answer["addOnMigrations"] = results
        return answer

    @staticmethod
    def _validation_json(item: Item, errors: list[tuple[int, str]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "currentSubscriptionId": item.sub_id,
            "isEligible": not errors,
            "termDuration": item.term,
            "billingCycle": BILLING_OUT.get(item.billing, item.billing),
        }
        if item.catalog_item_id:
            body["catalogItemId"] = item.catalog_item_id
        if item.custom_end:
            body["customTermEndDate"] = iso(item.custom_end)
        if errors:
            body["errors"] = [{"code": code, "description": description} for code, description in errors]
        return body
