"""Reading and checking manual records: one set of rules for the form, the API and imports.

`Checker.clean` turns one row (strings from a form, a CSV, or cells from an XLSX) into model
fields or a list of (field, message). Imports read the whole file first, then check every row,
so a 50,000-row file costs one pass and one query for the serials already registered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from yingji.core import clock, numbers, tables
from yingji.core.apischema import year_problem
from yingji.core.errors import BadInput
from yingji.incidents.models import Incident
from yingji.plans.schema import Plan, RecordKind
from yingji.plans.store import published

from . import kinds
from .models import ManualRecord, TempRange

FIELDS = ("kind", "department", "card_no", "temp_no", "patient_name", "paper_serial", "occurred_at",
          "amount", "clinician", "insurance")
REQUIRED_COLUMNS = ("kind", "department", "paper_serial", "occurred_at")
KIND_LENGTH = ManualRecord._meta.get_field("kind").max_length or 40
AMOUNT_DIGITS = ManualRecord._meta.get_field("amount").max_digits  # type: ignore[union-attr]
Rejected = dict[str, Any]  # {"row", "field", "message"}


def current_plan() -> Plan:
    current = published()
    if current is None:
        raise BadInput("plan", _("No plan is published yet."))
    return current[1]


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class Checker:
    """Checks rows against the plan, the department's temporary ranges and the serials already in."""

    def __init__(self, plan: Plan, incident: Incident, only_department: str | None = None):
        self.plan = plan
        self.incident = incident
        self.only_department = only_department
        self.zone = plan.hospital.zone()
        self.departments = {d.code for d in plan.departments}
        self.insurance = {i.code for i in plan.recovery.insurance}
        self.on_account = set(plan.on_account_departments())
        # A typed-up log may say the kind by its code or by the name the plan gives it.
        self.kinds = {k.code: k for k in plan.recovery.record_kinds}
        self.kind_names = {kinds.kind_name(plan, k.code): k.code for k in plan.recovery.record_kinds}
        self.kind_names.update({k.name: k.code for k in plan.recovery.record_kinds})
        self.ranges: dict[str, list[TempRange]] = {}
        for block in TempRange.objects.all():
            self.ranges.setdefault(block.department, []).append(block)
        self.seen = set(ManualRecord.objects.filter(incident=incident).values_list("department", "paper_serial"))
        self.latest = clock.now()

    def clean(self, row: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        errors: list[tuple[str, str]] = []
        out: dict[str, Any] = {}

        def text(field: str, limit: int, required: bool = False) -> str:
            value = _as_text(row.get(field))
            if required and not value:
                errors.append((field, _("This field is required.")))
            elif len(value) > limit:
                errors.append((field, _("At most %(limit)d characters.") % {"limit": limit}))
            elif "\x00" in value:
                errors.append((field, _("Holds a NUL character.")))
            return value

        kind = text("kind", KIND_LENGTH, required=True)
        kind = self.kind_names.get(kind, kind)
        if kind and kind not in self.kinds:
            errors.append(("kind", _("Must be one of: %(choices)s.") % {"choices": ", ".join(
                f"{code} ({name})" for code, name in kinds.choices(self.plan))}))
        found = self.kinds.get(kind)
        department = text("department", 40, required=True)
        if department and department not in self.departments:
            errors.append(("department", _("Unknown department %(code)r.") % {"code": department}))
        elif department and self.only_department is not None and department != self.only_department:
            errors.append(("department", _("You may act only for your own department.")))
        card_no, temp_no = text("card_no", 40), text("temp_no", 40)
        if not card_no and not temp_no:
            errors.append(("card_no", _("Give the patient's card number or a temporary number.")))
        if temp_no and department and not any(b.holds(temp_no) for b in self.ranges.get(department, [])):
            errors.append(("temp_no", _("%(number)s is not in a temporary number range reserved for this "
                                        "department.") % {"number": temp_no}))
        serial = text("paper_serial", 40, required=True)
        if serial and (department, serial) in self.seen:
            errors.append(("paper_serial", _("Slip %(serial)s of this department is already registered.")
                           % {"serial": serial}))
        occurred = self._when(row.get("occurred_at"), errors)
        amount = self._amount(row.get("amount"), found, errors)
        clinician = text("clinician", 100)
        if found is not None and found.needs_clinician and not clinician:
            errors.append(("clinician", _("A %(kind)s must name the clinician.")
                           % {"kind": kinds.kind_name(self.plan, kind)}))
        insurance = text("insurance", 40)
        if insurance and insurance not in self.insurance:
            errors.append(("insurance", _("Unknown insurance scheme %(code)r; the plan lists: %(choices)s.")
                           % {"code": insurance, "choices": ", ".join(sorted(self.insurance)) or "-"}))
        if errors:
            return {}, errors
        self.seen.add((department, serial))
        out.update(kind=kind, department=department, card_no=card_no, temp_no=temp_no,
                   patient_name=text("patient_name", 100), paper_serial=serial, occurred_at=occurred,
                   amount=amount, clinician=clinician, insurance=insurance,
                   insurance_state=self._settlement(found, department, insurance))
        return out, []

    def _settlement(self, kind: RecordKind | None, department: str, insurance: str) -> str:
        """Inpatient bills are parked (挂账): an inpatient kind of record, or one written by a
        department the plan parks on account (the wards); outpatients pay themselves and are
        re-settled (退单重结)."""
        if not insurance:
            return ""
        inpatient = department in self.on_account or (kind is not None and kind.inpatient)
        return ManualRecord.Insurance.ON_ACCOUNT if inpatient else ManualRecord.Insurance.SELF_PAID

    def _when(self, value: Any, errors: list[tuple[str, str]]) -> datetime | None:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime.combine(value, time())
        else:
            raw = _as_text(value)
            if not raw:
                errors.append(("occurred_at", _("This field is required.")))
                return None
            try:
                moment = datetime.fromisoformat(raw)
            except ValueError:
                errors.append(("occurred_at", _("Not a date and time; write it as 2026-03-05 09:30.")))
                return None
        if moment.tzinfo is None:  # paper logs are in the hospital's wall-clock time
            moment = moment.replace(tzinfo=self.zone)
        if problem := year_problem(moment):  # a slip's date outside these years is a typo
            errors.append(("occurred_at", problem))
            return None
        if moment > self.latest:
            errors.append(("occurred_at", _("Lies in the future.")))
        return moment

    def _amount(self, value: Any, kind: RecordKind | None, errors: list[tuple[str, str]]) -> Decimal | None:
        try:
            amount = numbers.money(_as_text(value), "amount", max_digits=AMOUNT_DIGITS)
        except BadInput as exc:
            errors.append(("amount", exc.message))
            return None
        if amount is None and kind is not None and kind.needs_amount:
            errors.append(("amount", _("A %(kind)s needs an amount.")
                           % {"kind": kinds.kind_name(self.plan, kind.code)}))
        return amount

    def clean_rows(self, rows: Iterable[tuple[int, dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[Rejected]]:
        accepted: list[dict[str, Any]] = []
        rejected: list[Rejected] = []
        for number, row in rows:
            clean, errors = self.clean(row)
            if errors:
                rejected.extend({"row": number, "field": field, "message": message} for field, message in errors)
            else:
                accepted.append(clean)
        return accepted, rejected


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a card number typed into Excel comes back as 1.2345e6
    return str(value).strip()


def read_table(filename: str, content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(spreadsheet row number, {column: value}) for every non-empty data row."""
    limits = tables.Limits.from_settings()
    table: Iterator[list[Any]]
    if filename.lower().endswith(".xlsx") or content[:2] == b"PK":
        table = tables.xlsx_rows(content, limits)
    elif filename.lower().endswith((".csv", ".txt")) or not filename:
        table = tables.csv_rows(content, limits)
    else:
        raise BadInput("file", _("Upload a .csv or .xlsx file."))
    header = [_as_text(h) for h in next(table, [])]
    unknown = [h for h in header if h and h not in FIELDS]
    if unknown:
        raise BadInput("file", _("Unknown column(s) %(columns)s; the columns are: %(fields)s.")
                       % {"columns": ", ".join(unknown), "fields": ", ".join(FIELDS)})
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise BadInput("file", _("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)})
    rows = []
    for number, cells in enumerate(table, start=2):
        if any(c not in (None, "") for c in cells):
            rows.append((number, {h: v for h, v in zip(header, cells, strict=False) if h}))
    return rows
