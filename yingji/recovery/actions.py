"""Every change to manual records, temporary number ranges and reconciliations.

Like `incidents.actions`: check the role (and that department staff act for their own
department), then in one `audit.writing()` transaction change the rows, append the audit entry
and schedule or settle timers. Validation lives in `records.py` so a single record and a
50,000-row import are judged by the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from yingji.accounts.models import User
from yingji.accounts.roles import require
from yingji.core import audit, clock, numbers
from yingji.core.actors import WORKER, Actor, actor_name
from yingji.core.bulk import insert_rows
from yingji.core.errors import BadInput, Forbidden, InvalidTransition
from yingji.incidents.escalation import backentry_key, say, tell_breach
from yingji.incidents.models import Incident
from yingji.plans.schema import Plan
from yingji.plans.store import plan_of
from yingji.timers import service as timers

from . import kinds, records
from .models import ManualRecord, Reconciliation, TempRange
from .reconciliation import OPEN, balance, reconciliation, summary

R = ManualRecord.State
INS = ManualRecord.Insurance
UNSETTLED = (INS.SELF_PAID, INS.ON_ACCOUNT)
EXPECTED_DIGITS = Reconciliation._meta.get_field("expected_amount").max_digits  # type: ignore[union-attr]

# step -> (from states, to state); `settle` moves the insurance state instead.
STEPS: dict[str, tuple[tuple[str, ...], str]] = {
    "enter": ((R.PENDING,), R.ENTERED),
    "verify": ((R.ENTERED,), R.VERIFIED),
    "confirm": ((R.VERIFIED,), R.CONFIRMED),
    "settle": ((R.ENTERED, R.VERIFIED, R.CONFIRMED), ""),
}
STEP_WORDS = {"enter": gettext_lazy("Entered"), "verify": gettext_lazy("Verified"),
              "confirm": gettext_lazy("Confirm charge"), "settle": gettext_lazy("Settled with insurance")}


def _log(actor: Actor | str, action: str, subject_type: str, subject_id: int, **data: Any) -> None:
    audit.append(actor_name(actor), action, subject_type, subject_id, data)


def own_department(actor: Actor) -> str | None:
    """The one department staff and leads act for; None for the office and machines (any)."""
    if isinstance(actor, User) and actor.role in ("reporter", "department_lead"):
        return actor.department
    return None


def payers(plan: Plan) -> tuple[str, ...]:
    """The departments that settle insurance for every department's records: the plan's
    `recovery.settling_departments`, by default finance and the 医保 office (their kinds)."""
    return tuple(plan.settling_departments())


def listed_department(actor: Actor, plan: Plan, asked: str = "") -> str:
    """Whose records `actor` may list: staff and leads their own department's; the settling
    departments, the office and read-only roles any department's ("" for all)."""
    own = own_department(actor)
    return own if own and own not in payers(plan) else asked


PATIENT_FIELDS = ("patient_name", "card_no", "temp_no")
HIDDEN = "***"


def sees_patients(actor: Actor) -> bool:
    """Read-only roles (auditors) see the records' counts and money, not who the patients were."""
    return not (isinstance(actor, User) and actor.role == "viewer")


def shown_to(record: ManualRecord, patients: bool) -> ManualRecord:
    """The record as a reader sees it: without who the patient was unless `patients` (not saved)."""
    if not patients:
        for field in PATIENT_FIELDS:
            setattr(record, field, HIDDEN)
    return record


def _check(actor: Actor, action: str, department: str, also: tuple[str, ...] = ()) -> None:
    """The role may do it; staff and leads act for their own department (or one in `also`)."""
    require(actor, action)
    own = own_department(actor)
    if own is not None and own not in (department, *also):
        raise Forbidden(_("You may act only for your own department."), action=action)


def may_settle(actor: Actor, plan: Plan) -> bool:
    """Insured records are settled by the plan's settling departments (finance and the 医保 office
    by default), for every department, and by the office; not by a department for itself."""
    own = own_department(actor)
    return own is None or own in payers(plan)


def _check_settler(actor: Actor, plan: Plan) -> None:
    require(actor, "settle")
    if not may_settle(actor, plan):
        names = ", ".join(d.name if (d := plan.department(code)) else code for code in payers(plan))
        raise Forbidden(_("Insured records are settled by: %(departments)s.") % {"departments": names or "-"},
                        action="settle")


def _usable(incident: Incident) -> None:
    if incident.status in (Incident.Status.CANCELLED, Incident.Status.MERGED):
        raise InvalidTransition(_("Records cannot be added to an incident that is %(status)s.")
                                % {"status": Incident.Status(incident.status).label}, status=incident.status)


# -- temporary numbers --------------------------------------------------------------------


def reserve_range(actor: Actor, department: str, prefix: str, first: int, last: int, width: int = 6) -> TempRange:
    require(actor, "temp_range")
    plan = records.current_plan()
    if plan.department(department) is None:
        raise BadInput("department", _("Unknown department %(code)r.") % {"code": department})
    if not prefix or len(prefix) > 20:
        raise BadInput("prefix", _("Give a prefix of 1 to 20 characters."))
    if not 0 < first <= last or len(str(last)) > width:
        raise BadInput("last", _("The range must be 0 < first ≤ last and fit in %(width)d digits.") % {"width": width})
    with audit.writing():
        clash = TempRange.objects.filter(prefix=prefix, first__lte=last, last__gte=first).first()
        if clash:
            owner = plan.department(clash.department)
            raise BadInput("first", _("Overlaps the range already reserved for %(department)s.")
                           % {"department": owner.name if owner else clash.department})
        block = TempRange.objects.create(department=department, prefix=prefix, first=first, last=last,
                                         width=width, reserved_at=clock.now(), reserved_by=actor_name(actor))
        _log(actor, "temp_range.reserved", "temp_range", block.pk, department=department,
             first=block.number(first), last=block.number(last))
    return block


def issue_temp_no(actor: Actor, department: str) -> str:
    """Hand out the next unused temporary number of the department's ranges."""
    _check(actor, "record", department)
    with audit.writing():
        block = TempRange.objects.filter(department=department, issued__lt=F("last") - F("first") + 1).first()
        if block is None:
            raise InvalidTransition(_("No temporary numbers left for this department; ask the office "
                                      "to reserve a range."), department=department)
        number = block.number(block.first + block.issued)
        TempRange.objects.filter(pk=block.pk).update(issued=F("issued") + 1)
        _log(actor, "temp_no.issued", "temp_range", block.pk, number=number)
    return number


# -- records --------------------------------------------------------------------------------


def add_record(actor: Actor, incident: Incident, data: dict[str, Any], source: str = "api") -> ManualRecord:
    """One paper transaction, as typed at a downtime PC or sent by the API."""
    _usable(incident)
    plan = plan_of(incident.plan_version_id)
    department = str(data.get("department") or "")
    _check(actor, "record", department)
    with audit.writing():
        checker = records.Checker(plan, incident)
        clean, errors = checker.clean(data)
        if errors:
            raise BadInput(*errors[0])
        record = ManualRecord.objects.create(incident=incident, source=source, created_by=actor_name(actor),
                                             created_at=clock.now(), **clean)
        _log(actor, "record.added", "incident", incident.pk, record=record.pk, kind=record.kind,
             department=record.department, paper_serial=record.paper_serial)
    return record


@dataclass
class ImportResult:
    accepted: int
    rejected: list[dict[str, Any]]


def import_records(actor: Actor, incident: Incident, filename: str, content: bytes) -> ImportResult:
    """A CSV or XLSX typed up from paper logs. Good rows are kept; each bad row is reported with
    its spreadsheet row number and the field at fault."""
    _usable(incident)
    require(actor, "record")
    rows = records.read_table(filename, content)
    plan = plan_of(incident.plan_version_id)
    with audit.writing():
        checker = records.Checker(plan, incident, only_department=own_department(actor))
        accepted, rejected = checker.clean_rows(rows)
        now, by = clock.now(), actor_name(actor)
        insert_rows(ManualRecord, accepted, incident_id=incident.pk, source=ManualRecord.Source.IMPORT,
                    created_by=by, created_at=now)
        _log(actor, "records.imported", "incident", incident.pk, file=filename, sha256=records.digest(content),
             accepted=len(accepted), rejected=len(rejected))
    return ImportResult(len(accepted), rejected)


def advance(actor: Actor, record: ManualRecord, step: str, his_id: str = "", note: str = "") -> ManualRecord:
    """enter (with the order or charge id it got in the plan's target system, HIS in the shipped
    plans) → verify → confirm; settle re-settles insurance."""
    if step not in STEPS:
        raise BadInput("step", _("Unknown step %(step)r.") % {"step": step})
    plan = plan_of(record.incident.plan_version_id)
    if step == "settle":
        _check_settler(actor, plan)
    else:
        _check(actor, step, record.department)
    if step == "enter" and not his_id.strip():
        raise BadInput("his_id", _("Give the %(system)s order or charge id the record was entered as.")
                       % {"system": kinds.system_name(plan, record.kind)})
    with audit.writing():
        record = ManualRecord.objects.select_related("incident").get(pk=record.pk)
        sources, target = STEPS[step]
        if record.state not in sources or (step == "settle" and record.insurance_state not in UNSETTLED):
            raise InvalidTransition(
                _("“%(step)s” cannot be done for a record that is %(state)s.") % {
                    "step": STEP_WORDS[step], "state": kinds.state_name(plan, record.state, record.kind)},
                state=record.state, insurance_state=record.insurance_state, allowed=allowed_steps(record))
        now, by = clock.now(), actor_name(actor)
        if step == "settle":
            record.insurance_state = INS.RESETTLED if record.insurance_state == INS.SELF_PAID else INS.SETTLED
            record.settled_at, record.settled_by = now, by
        else:
            record.state = target  # entered / verified / confirmed, each with its own _at and _by
            setattr(record, f"{target}_at", now)
            setattr(record, f"{target}_by", by)
        if step == "enter":
            record.his_id = his_id.strip()[:60]
        if note.strip():
            record.note = "\n".join(filter(None, [record.note, note.strip()]))
        record.save()
        _log(actor, f"record.{step}", "record", record.pk, incident=record.incident_id, state=record.state,
             insurance_state=record.insurance_state, his_id=record.his_id)
    return record


def allowed_steps(record: ManualRecord) -> list[str]:
    out = [step for step, (sources, _to) in STEPS.items() if step != "settle" and record.state in sources]
    if record.state in STEPS["settle"][0] and record.insurance_state in UNSETTLED:
        out.append("settle")
    return out


# -- reconciliation -------------------------------------------------------------------------


def set_expected(actor: Actor, incident: Incident, department: str, expected_count: int | str | None,
                 expected_amount: Decimal | str | None, note: str = "") -> Reconciliation:
    """The paper log's own totals, which the back-entered records must match (checked here, so
    the form, the API and anything later judge them alike)."""
    _check(actor, "reconcile", department)
    expected_count = numbers.whole(expected_count, "expected_count")
    expected_amount = numbers.money(expected_amount, "expected_amount", max_digits=EXPECTED_DIGITS)
    with audit.writing():
        rec, _created = Reconciliation.objects.get_or_create(incident=incident, department=department)
        if rec.signed_off:
            raise InvalidTransition(_("This reconciliation is already signed off."), department=department)
        rec.expected_count, rec.expected_amount = expected_count, expected_amount
        if note.strip():
            rec.note = note.strip()
        rec.lead_signed_at = rec.finance_signed_at = None  # new totals need new signatures
        rec.lead_signed_by = rec.finance_signed_by = ""
        rec.save()
        _log(actor, "reconciliation.expected", "incident", incident.pk, department=department,
             expected_count=expected_count, expected_amount=None if expected_amount is None else str(expected_amount))
    return rec


def sign_off(actor: Actor, incident: Incident, department: str, as_: str, note: str = "") -> Reconciliation:
    """The department lead and finance each sign. A department that does not balance can be signed
    only with a note that explains the difference."""
    plan = plan_of(incident.plan_version_id)
    finance = plan.recovery.finance_department or ""
    if as_ not in ("lead", "finance"):
        raise BadInput("as", _("Sign as lead or finance."))
    _check(actor, "reconcile", department if as_ == "lead" else finance)
    with audit.writing():
        rec, _created = Reconciliation.objects.get_or_create(incident=incident, department=department)
        row = next((r for r in summary(incident) if r["department"] == department), None)
        if row is None:
            raise BadInput("department", _("No manual records for this department."))
        if rec.expected_count is None:
            raise BadInput("expected_count", _("Enter the paper log's count before signing."))
        problems = balance(row, rec)
        if note.strip():
            rec.note = "\n".join(filter(None, [rec.note, note.strip()]))
        if problems and not rec.note:
            raise InvalidTransition(_("Does not balance: %(problems)s. Resolve it or explain it in a note.")
                                    % {"problems": "; ".join(problems)}, problems=problems)
        now, by = clock.now(), actor_name(actor)
        other = rec.finance_signed_by if as_ == "lead" else rec.lead_signed_by
        if isinstance(actor, User) and other == by:  # two signatures are two people, or they prove nothing
            raise Forbidden(_("You have already signed this reconciliation; the other signature must be "
                              "someone else's."), action="reconcile")
        if as_ == "lead":
            rec.lead_signed_at, rec.lead_signed_by = now, by
        else:
            rec.finance_signed_at, rec.finance_signed_by = now, by
        rec.save()
        _log(actor, "reconciliation.signed", "incident", incident.pk, department=department, as_=as_,
             balanced=not problems, problems=problems)
        _complete_if_done(actor, incident)
    return rec


def _complete_if_done(actor: Actor, incident: Incident) -> None:
    departments = set(ManualRecord.objects.filter(incident=incident).values_list("department", flat=True))
    signed = {r.department for r in Reconciliation.objects.filter(incident=incident) if r.signed_off}
    if departments and departments <= signed and timers.settle(backentry_key(incident), by=actor_name(actor)):
        _log(actor, "backentry.completed", "incident", incident.pk, departments=sorted(departments))


@timers.handler("backentry")
def _backentry_overdue(timer: timers.Timer) -> None:
    """The back-entry deadline passed: each department lead gets the list of their open items."""
    incident = Incident.objects.get(pk=timer.incident_id or 0)
    plan = plan_of(incident.plan_version_id)
    rows = {row["department"]: row for row in reconciliation(incident) if not row["signed_off"]}
    for code, row in rows.items():
        department = plan.department(code)
        open_items = ManualRecord.objects.filter(OPEN, incident=incident, department=code)[:20]
        with override(plan.hospital.language):
            items = ", ".join(f"{r.paper_serial} ({kinds.state_name(plan, r.state, r.kind)})" for r in open_items)
        items = items or "-"
        what = say(plan, gettext_lazy("Back-entry is overdue for %(department)s: %(count)d open item(s), "
                                      "not signed off. %(items)s"),
                   department=department.name if department else code, count=row["open"], items=items)
        office = plan.organization.office.leader
        tell_breach(incident, plan, [f"department:{code}", *([f"person:{office}"] if office else [])], what)
    _log(WORKER, "timer.breached", "incident", incident.pk, deadline="backentry",
         open={code: row["open"] for code, row in rows.items()})
