"""Codes in words. The database, the audit log and the API keep codes (`dept_ack`, `core`,
`outpatient-office`, `DETECH`); a person reads what they stand for, in the reader's language for
Yingji's own codes and in the plan's own words for the plan's. One place for both, so the
timeline, the pages and the documents say the same thing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yingji.accounts.models import Role
from yingji.core.actors import display_name
from yingji.incidents.models import ChecklistItem, DowntimeMode, Incident
from yingji.plans.schema import Plan
from yingji.recovery import kinds
from yingji.reviews.models import RegulatoryReport

# Timer kinds, as the deadlines tables name them.
TIMERS: dict[str, Promise] = {
    "ack": gettext_lazy("Acknowledge the page"), "on_site": gettext_lazy("Engineer on site"),
    "fix": gettext_lazy("Fixed, or the plan activated"), "mode": gettext_lazy("Downtime mode starts"),
    "dept_ack": gettext_lazy("Department acknowledges the activation"), "regrade": gettext_lazy("Next duration level"),
    "backentry": gettext_lazy("Back-entry signed off"), "regulatory": gettext_lazy("Report to the authorities"),
    "corrective": gettext_lazy("Corrective action done"), "audit_digest": gettext_lazy("Audit digest"),
    "probe": gettext_lazy("Test timer"), "report": gettext_lazy("Report to the command"),
}
# What a missed deadline (`timer.breached`) waited for.
DEADLINES: dict[str, Promise] = {
    "acknowledge": gettext_lazy("Acknowledge a page"), "on_site": gettext_lazy("Engineer on site"),
    "fix": gettext_lazy("Fixed or escalated"), "department_ack": gettext_lazy("Department acknowledges activation"),
    "backentry": gettext_lazy("Back-entry signed off"), "report": gettext_lazy("Report to the command"),
    **{kind.value: kind.label for kind in RegulatoryReport.Kind},
}
TIMER_STATES: dict[str, Promise] = {"met": gettext_lazy("met"), "fired": gettext_lazy("missed"),
                                    "cancelled": gettext_lazy("cancelled"), "pending": gettext_lazy("pending")}
CRITICALITY: dict[str, Promise] = {"core": gettext_lazy("core"), "important": gettext_lazy("important"),
                                   "general": gettext_lazy("general")}
# How a page was acknowledged (`Message.acked_via`).
VIA: dict[str, Promise] = {"link": gettext_lazy("acknowledgement link"), "web": gettext_lazy("web page"),
                           "api": gettext_lazy("API"),
                           "activated": gettext_lazy("by activating the plan")}
SIGNED_AS: dict[str, Promise] = {"lead": gettext_lazy("Lead"), "finance": gettext_lazy("Finance")}
# The facts of an incident that the engineer updates on site.
FACTS: dict[str, Promise] = {
    "scope": gettext_lazy("Scope"), "cause": gettext_lazy("Cause"), "security": gettext_lazy("Security"),
    "fault": gettext_lazy("What went wrong"),
    "patients_affected": gettext_lazy("Patients affected"), "extra_systems": gettext_lazy("Also affected"),
    "location": gettext_lazy("Where"), "title": gettext_lazy("Fault"),
}
# What kind of department a plan says each is (`departments[].kind`, plans/schema.DEPARTMENT_KINDS).
DEPARTMENT_KINDS: dict[str, Promise] = {
    "outpatient": gettext_lazy("Outpatient"), "emergency": gettext_lazy("Emergency"),
    "inpatient": gettext_lazy("Inpatient (wards)"), "medtech": gettext_lazy("Medical technology"),
    "pharmacy": gettext_lazy("Pharmacy"), "finance": gettext_lazy("Finance and billing"),
    "administrative": gettext_lazy("Administration"), "information": gettext_lazy("Information center"),
    "logistics": gettext_lazy("Logistics"), "insurance": gettext_lazy("Medical insurance office"),
}
# The choices behind the facts and grading conditions.
CHOICES: dict[str, dict[str, Promise]] = {
    "scope": dict(Incident.Scope.choices), "cause": dict(Incident.Cause.choices),
    "security": dict(Incident.Security.choices), "criticality": CRITICALITY,
    "mode": dict(DowntimeMode.Mode.choices), "phase": dict(ChecklistItem.Phase.choices),
    "role": dict(Role.choices), "status": dict(Incident.Status.choices), "department_kind": DEPARTMENT_KINDS,
    "weekday": {"monday": gettext_lazy("Monday"), "tuesday": gettext_lazy("Tuesday"),
                "wednesday": gettext_lazy("Wednesday"), "thursday": gettext_lazy("Thursday"),
                "friday": gettext_lazy("Friday"), "saturday": gettext_lazy("Saturday"),
                "sunday": gettext_lazy("Sunday")},
}


def word(table: Mapping[str, Promise | str], code: str) -> str:
    """`code` in words from `table`; a code the table does not know is shown as it is."""
    found = table.get(code)
    return str(found) if found is not None else code


def choice(field: str, code: str) -> str:
    """The label of one of Yingji's choices: choice("scope", "hospital") -> "Hospital-wide"."""
    return word(CHOICES.get(field, {}), code)


def listed(words: Iterable[str]) -> str:
    """Names in a row, with the reader's list separator (", " or "、")."""
    return _(", ").join(words)


def grade_name(plan: Plan | None, scheme: str, code: str | None) -> str:
    """What the plan calls a grade: ("category", "DETECH") -> "技术故障事件（软硬件故障或过载）"."""
    if not code:
        return "–"
    return plan.grade_name(scheme, code) if plan is not None else code


def scheme_name(plan: Plan | None, scheme: str) -> str:
    found = getattr(plan.grading, scheme, None) if plan is not None else None
    return found.name if found is not None else scheme


def system_name(plan: Plan | None, code: str) -> str:
    """A system by its plan name; the code when the plan has no such system, "" for none."""
    found = plan.system(code) if plan is not None and code else None
    return found.name if found else code


def department_name(plan: Plan | None, code: str) -> str:
    """A department's name, or a scenario's (scenario checklists stand where a department's do)."""
    if plan is None or not code:
        return code
    found = plan.department(code) or plan.scenario(code)
    return found.name if found else code


def record_kind_name(plan: Plan | None, code: str) -> str:
    """A kind of paper record as the plan names it: "blood_issue" -> "Blood issue"."""
    return kinds.kind_name(plan, code)


def people(plan: Plan | None, codes: Iterable[str]) -> str:
    """Plan people by name, in a row (a code the plan does not know is looked up as a login)."""
    return listed(found.name if plan is not None and (found := plan.person(code)) else display_name(code, plan)
                  for code in codes)


def target_name(plan: Plan | None, target: str) -> str:
    """A notification target of the plan in words: "department:warehouse" -> "药库与物资库房"."""
    kind, _sep, code = target.partition(":")
    if kind == "department":
        return department_name(plan, code)
    if kind == "role":
        return choice("role", code)
    if kind in ("group", "oncall") and plan is not None:
        group = next((g for g in plan.organization.all_groups() if g.code == code), None)
        return group.name if group else code
    return people(plan, [code]) if kind == "person" else target
