"""Reading the CSV files of Microsoft's NCE batch migration tool (BAM) into a :class:`~bot.bam.models.BamPlan`.

Tolerant where BAM users' files differ (SPEC §8.1): columns by name in any order (letter case and spaces ignored),
the older layouts without ``AutoRenewEnabled`` or ``CustomTermEndDate``, ``,`` or ``;`` separators (and Excel's
``sep=`` first line), a UTF-8 byte-order mark or a Windows-1252 file. Strict about content: a file with any bad
row is refused as a whole by :class:`~bot.bam.models.BamFileError`, naming every bad line and column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date
from typing import Final, TypeVar

from bot.bam import formats
from bot.bam.models import (
    BamFileError,
    BamKind,
    BamPlan,
    BamProblem,
    PlannedCancel,
    PlannedMigration,
    PlannedSubscription,
    SkippedRow,
)
from bot.bam.values import (
    TERM_BILLING,
    BadValue,
    parse_billing,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_guid,
    parse_int,
    parse_term,
)

#: Far above BAM's 200 rows per file, below what would make one upload a memory problem.
MAX_ROWS: Final = 50_000

#: Columns a file of each kind must have; every other column is optional (older layouts lack some).
REQUIRED: Final[dict[BamKind, tuple[str, ...]]] = {
    BamKind.MIGRATE: (
        "CustomerTenantId", "LegacySubscriptionId", "MigrationEligible", "StartNewTermInNce", "Term", "BillingPlan",
        "SeatCount", "AddOn", "BaseSubscriptionId",
    ),
    BamKind.SCHEDULE: (
        "CustomerTenantId", "LegacySubscriptionId", "MigrationEligible", "StartNewTermInNce", "Term", "BillingPlan",
        "SeatCount", "AddOn", "BaseSubscriptionId", "TargetDate", "MigrateOnRenewal",
    ),
    BamKind.CANCEL: ("Id", "CurrentSubscriptionId", "Status", "CustomerTenantId"),
}
HEADERS: Final[dict[BamKind, tuple[str, ...]]] = {
    BamKind.MIGRATE: formats.SUBSCRIPTIONS,
    BamKind.SCHEDULE: formats.SUBSCRIPTIONS_FOR_SCHEDULE,
    BamKind.CANCEL: formats.SCHEDULE_MIGRATIONS,
}

T = TypeVar("T")


def _key(name: str) -> str:
    return "".join(name.split()).lower()


def decode(data: bytes | str) -> str:
    """Text of an upload: UTF-8 (BOM dropped), else Windows-1252 (what Excel's plain "CSV" saves on Windows)."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _records(text: str) -> tuple[str, Iterator[tuple[int, list[str]]]]:
    """The delimiter and each record with the line it starts on (quoted cells may span lines)."""
    lines = text.splitlines()
    first = lines[0].strip() if lines else ""
    skip = 0
    if first.lower().startswith("sep=") and len(first) == 5:
        delimiter, skip = first[4], 1
    else:
        header = first
        delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def records() -> Iterator[tuple[int, list[str]]]:
        line = 1
        for index, record in enumerate(reader):
            if index >= skip:
                yield line, record
            line = reader.line_num + 1

    return delimiter, records()


def _is_results(names: set[str]) -> bool:
    """BAM's output files (what was done) have a status column its input files do not."""
    return bool(names & {"migrationstatus", "migrationschedulestatus"})


def recognise(header: list[str]) -> BamKind | None:
    """The kind of file a header row belongs to, by the columns only that kind has."""
    names = {_key(h) for h in header}
    if _is_results(names):
        return None
    if {"id", "currentsubscriptionid", "status"} <= names:
        return BamKind.CANCEL
    if "legacysubscriptionid" in names and ({"targetdate", "migrateonrenewal"} & names):
        return BamKind.SCHEDULE
    if {"legacysubscriptionid", "migrationeligible"} <= names:
        return BamKind.MIGRATE
    return None


class _Row:
    """One data row; typed getters record a :class:`BamProblem` per bad cell and return ``None``."""

    def __init__(self, line: int, cells: list[str], index: dict[str, int], problems: list[BamProblem]) -> None:
        self.line, self._cells, self._index, self._problems = line, cells, index, problems

    def text(self, column: str) -> str:
        at = self._index.get(_key(column))
        return self._cells[at].strip() if at is not None and at < len(self._cells) else ""

    def problem(self, column: str | None, message: str) -> None:
        self._problems.append(BamProblem(line=self.line, column=column, message=message))

    def get(self, column: str, parse: Callable[[str], T], *, required: bool = False) -> T | None:
        raw = self.text(column)
        if not raw:
            if required:
                self.problem(column, "is empty")
            return None
        try:
            return parse(raw)
        except BadValue as exc:
            self.problem(column, str(exc))
            return None


def read_bam(data: bytes | str) -> BamPlan:
    """The plan of a BAM file, or :class:`BamFileError` naming every bad line and column (nothing returned)."""
    delimiter, records = _records(decode(data))
    header_line, header = next(records, (1, []))
    kind = recognise(header)
    if kind is None:
        results = _is_results({_key(h) for h in header})
        raise BamFileError(
            [BamProblem(line=header_line, column=None, message="the header is not one of BAM's input files")],
            summary=(
                "This is a BAM results file (output/migrations or output/schedulemigrations): it says what was "
                "done, so it cannot be imported. Bring in subscriptions.csv, subscriptionsforschedule.csv or "
                "schedulemigrations.csv."
                if results else
                "This is not a BAM file: its first line should be the header of subscriptions.csv, "
                "subscriptionsforschedule.csv or schedulemigrations.csv (e.g. "
                + ",".join(formats.SUBSCRIPTIONS[:5]) + ",…)."
            ),
        )
    problems: list[BamProblem] = []
    index: dict[str, int] = {}
    for at, name in enumerate(header):
        key = _key(name)
        if not key:
            continue
        if key in index:
            problems.append(BamProblem(line=header_line, column=name.strip(), message="appears twice in the header"))
        index.setdefault(key, at)
    for name in REQUIRED[kind]:
        if _key(name) not in index:
            problems.append(BamProblem(line=header_line, column=name, message="column is missing from the header"))
    if problems:
        raise BamFileError(problems)

    rows: list[_Row] = []
    for line, cells in records:
        if not any(c.strip() for c in cells):
            continue  # blank line (Excel leaves ";;;;" rows behind)
        row = _Row(line, cells, index, problems)
        if any(c.strip() for c in cells[len(header):]):
            row.problem(None, f"has {len(cells)} cells but the header has {len(header)}")
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise BamFileError([BamProblem(line=line, column=None, message=f"more than {MAX_ROWS:,} rows")])
    if kind is BamKind.CANCEL:
        cancels, skipped = _cancels(rows)
        plan = BamPlan(kind=kind, cancels=cancels, skipped=skipped, data_rows=len(rows), delimiter=delimiter)
    else:
        migrations, skipped = _migrations(kind, rows)
        plan = BamPlan(kind=kind, migrations=migrations, skipped=skipped, data_rows=len(rows), delimiter=delimiter)
    if problems:
        raise BamFileError(problems)
    return plan


def _subscription(row: _Row) -> PlannedSubscription | None:
    """A migrate or schedule row that is to be acted on, checked cell by cell."""
    customer = row.get("CustomerTenantId", parse_guid, required=True)
    sub = row.get("LegacySubscriptionId", parse_guid, required=True)
    is_addon = bool(row.get("AddOn", parse_bool))
    base = row.get("BaseSubscriptionId", parse_guid, required=is_addon)
    term = row.get("Term", parse_term)
    billing = row.get("BillingPlan", parse_billing)
    quantity = row.get("SeatCount", lambda t: parse_int(t, minimum=1))
    new_term = bool(row.get("StartNewTermInNce", parse_bool))
    end = row.get("CustomTermEndDate", parse_date)
    if term is not None and billing is not None and billing not in TERM_BILLING[term]:
        row.problem("BillingPlan", f"{billing.value} billing is not offered with term {term.value}")
    if new_term and end is not None:
        row.problem("CustomTermEndDate", "give either StartNewTermInNce=True or a CustomTermEndDate, not both")
    if base is not None and base == sub:
        row.problem("BaseSubscriptionId", "names the row's own subscription")
    expiration = row.get("ExpirationDate", parse_datetime)
    auto_renew = row.get("AutoRenewEnabled", parse_bool)
    current_seats = row.get("CurrentSeatCount", parse_int)
    if customer is None or sub is None or (is_addon and base is None):
        return None
    return PlannedSubscription(
        line=row.line,
        customer_tenant_id=customer,
        subscription_id=sub,
        customer_name=row.text("CustomerName"),
        partner_tenant_id=row.text("PartnerTenantId"),
        indirect_reseller_mpn_id=row.text("IndirectResellerMpnId"),
        subscription_name=row.text("LegacySubscriptionName"),
        product_name=row.text("LegacyProductName"),
        catalog_item_id=row.text("NcePsa"),
        current_term=row.text("CurrentTerm"),
        current_billing=row.text("CurrentBillingPlan"),
        is_addon=is_addon,
        base_subscription_id=base if is_addon else None,
        term=term,
        billing=billing,
        quantity=quantity,
        start_new_term=new_term,
        custom_term_end_date=end,
        expiration_date=expiration,
        auto_renew=auto_renew,
        current_seats=current_seats,
    )


def _migrations(
    kind: BamKind, rows: list[_Row]
) -> tuple[tuple[PlannedMigration, ...], tuple[SkippedRow, ...]]:
    planned: list[PlannedSubscription] = []
    skipped: list[SkippedRow] = []
    when: dict[str, tuple[date | None, bool]] = {}
    listed: dict[str, int] = {}  # every subscription id in the file -> its line (eligible or not)
    for row in rows:
        sub_text = row.text("LegacySubscriptionId").lower()
        if sub_text in listed and sub_text:
            row.problem("LegacySubscriptionId", f"{sub_text} is already on line {listed[sub_text]}")
        listed.setdefault(sub_text, row.line)
        eligible = row.get("MigrationEligible", parse_bool, required=True)
        if not eligible:
            if eligible is False:
                reason = row.text("MigrationIneligibilityReason") or "MigrationEligible is False"
                skipped.append(SkippedRow(line=row.line, subscription_id=sub_text,
                                          customer_tenant_id=row.text("CustomerTenantId").lower(), reason=reason))
            continue
        item = _subscription(row)
        if item is not None:
            planned.append(item)
            if kind is BamKind.SCHEDULE:
                when[item.subscription_id] = _when(row)

    by_line = {row.line: row for row in rows}
    by_id = {p.subscription_id: p for p in planned}
    roots: dict[str, PlannedSubscription] = {}  # subscription -> the planned row whose call carries it
    add_ons: dict[str, list[PlannedSubscription]] = {}
    for item in planned:
        root = _root(item, by_id)
        if root is None:
            by_line[item.line].problem("BaseSubscriptionId", "add-ons name each other as their base")
            continue
        roots[item.subscription_id] = root
        add_ons.setdefault(root.subscription_id, [])
        if root is not item:
            if item.customer_tenant_id != root.customer_tenant_id:
                by_line[item.line].problem("CustomerTenantId", f"differs from its base's (line {root.line})")
            add_ons[root.subscription_id].append(item)

    out: list[PlannedMigration] = []
    for item in planned:
        if roots.get(item.subscription_id) is not item:
            continue
        carried = add_ons[item.subscription_id]
        if item.is_addon and item.base_subscription_id in listed:
            # Its base is in the file but not migrated: BAM drops such an add-on silently; say why.
            reason = f"its base {item.base_subscription_id} is not migrated in this file"
            skipped.extend(SkippedRow(line=r.line, subscription_id=r.subscription_id,
                                      customer_tenant_id=r.customer_tenant_id, reason=reason)
                           for r in (item, *carried))
            continue
        target, on_renewal = when.get(item.subscription_id, (None, False))
        if kind is BamKind.SCHEDULE and target is None and not on_renewal:
            if not by_line[item.line].text("TargetDate"):  # else its bad date is named already
                by_line[item.line].problem("TargetDate", "is empty: give a TargetDate or MigrateOnRenewal=True")
            continue
        out.append(PlannedMigration(kind=kind, base=item, add_ons=tuple(carried), target_date=target,
                                    on_renewal=on_renewal))
    return tuple(out), tuple(sorted(skipped, key=lambda s: s.line))


def _root(item: PlannedSubscription, by_id: dict[str, PlannedSubscription]) -> PlannedSubscription | None:
    """The planned row whose create carries ``item``: climb add-on → parent while the parent is planned."""
    seen = {item.subscription_id}
    current = item
    while current.is_addon and current.base_subscription_id in by_id:
        current = by_id[current.base_subscription_id]
        if current.subscription_id in seen:
            return None
        seen.add(current.subscription_id)
    return current


def _when(row: _Row) -> tuple[date | None, bool]:
    """A schedule's target: one of TargetDate and MigrateOnRenewal=True (add-ons follow their base's)."""
    target = row.get("TargetDate", parse_date)
    on_renewal = bool(row.get("MigrateOnRenewal", parse_bool))
    if target is not None and on_renewal:
        row.problem("TargetDate", "give either a TargetDate or MigrateOnRenewal=True, not both")
    return target, on_renewal


def _cancels(rows: list[_Row]) -> tuple[tuple[PlannedCancel, ...], tuple[SkippedRow, ...]]:
    cancels: list[PlannedCancel] = []
    skipped: list[SkippedRow] = []
    seen: dict[str, int] = {}
    for row in rows:
        status = row.text("Status")
        if status.lower() != "cancel":
            skipped.append(SkippedRow(line=row.line, subscription_id=row.text("CurrentSubscriptionId").lower(),
                                      customer_tenant_id=row.text("CustomerTenantId").lower(),
                                      reason=f"Status is {status or 'empty'}, not Cancel"))
            continue
        schedule = row.get("Id", parse_guid, required=True)
        customer = row.get("CustomerTenantId", parse_guid, required=True)
        sub = row.get("CurrentSubscriptionId", parse_guid, required=True)
        term = row.get("TermDuration", parse_term)
        billing = row.get("BillingCycle", parse_billing)
        quantity = row.get("Quantity", parse_int)
        target = row.get("TargetDate", parse_date)
        on_renewal = bool(row.get("MigrateOnRenewal", parse_bool))
        if schedule is not None and schedule in seen:
            row.problem("Id", f"schedule {schedule} is already on line {seen[schedule]}")
        if schedule is None or customer is None or sub is None:
            continue
        seen.setdefault(schedule, row.line)
        cancels.append(PlannedCancel(
            line=row.line, schedule_id=schedule, customer_tenant_id=customer, subscription_id=sub,
            catalog_item_id=row.text("CatalogItemId"), quantity=quantity, term=term, billing=billing,
            target_date=target, on_renewal=on_renewal, external_reference_id=row.text("ExternalReferenceId"),
        ))
    return tuple(cancels), tuple(skipped)
