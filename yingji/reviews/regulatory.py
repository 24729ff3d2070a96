"""Reports owed to authorities, each with its legal deadline as a timer.

- Police (案件): a security incident of a kind the plan lists (`regulatory.police_when`) is a
  case, to be reported within 24 h of discovery (1994 regulation, Art. 14).
- CAC (2025 《国家网络安全事件报告管理办法》): a national grade the plan lists (较大 or worse) is
  reported within 4 h, or 1 h when the hospital is critical information infrastructure, with the
  Art. 7 content fields (a partial first report with items 1–2 is allowed); the final summary is
  due 30 days after handling ends (Art. 8).
- PIPL Art. 57: a personal-data leak is notified with its three required items.

Deadlines count from discovery, which is the incident's first report. `ensure_reports` runs on
every re-grade, so a grade set by hand or a security flag added later opens the report then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yingji.accounts.models import Role
from yingji.accounts.roles import allowed, require
from yingji.core import audit, clock
from yingji.core.actors import WORKER, Actor, actor_name
from yingji.core.errors import BadInput, Forbidden, InvalidTransition
from yingji.incidents.escalation import say, span, tell_breach
from yingji.incidents.models import Incident
from yingji.plans.schema import Plan
from yingji.plans.store import plan_of
from yingji.timers import service as timers

from .models import RegulatoryReport

K = RegulatoryReport.Kind

# Art. 7 of the 2025 rules; items 1-2 may go first when the rest is not yet known.
CAC_ITEMS = (
    ("unit", gettext_lazy("1. Affected unit and the affected facility, system or platform")),
    ("event", gettext_lazy("2. Time and place of discovery, event type, grade, impact and harm so far, "
                           "measures taken and their effect (ransomware: ransom amount, method, date)")),
    ("trend", gettext_lazy("3. Likely trend and further impact")),
    ("cause", gettext_lazy("4. Preliminary analysis of the cause")),
    ("leads", gettext_lazy("5. Leads for investigation: possible attacker, attack path, vulnerabilities")),
    ("next", gettext_lazy("6. Planned further measures and requests for support")),
    ("scene", gettext_lazy("7. Protection of the incident scene")),
    ("other", gettext_lazy("8. Other matters")),
)
SUMMARY_ITEMS = (
    ("cause", gettext_lazy("Cause")), ("measures", gettext_lazy("Emergency measures taken")),
    ("harm", gettext_lazy("Harm caused")), ("accountability", gettext_lazy("Accountability")),
    ("rectification", gettext_lazy("Rectification")), ("lessons", gettext_lazy("Lessons learned")),
)
PIPL_ITEMS = (
    ("data", gettext_lazy("1. Kinds of personal information leaked or possibly leaked, the cause, and the "
                          "possible harm")),
    ("remedies", gettext_lazy("2. Remedies taken, and what individuals can do to reduce the harm")),
    ("contact", gettext_lazy("3. How to contact the personal-information handler")),
)
POLICE_ITEMS = (("facts", gettext_lazy("Facts of the case")), ("evidence", gettext_lazy("Evidence preserved")))
ITEMS = {K.POLICE: POLICE_ITEMS, K.CAC: CAC_ITEMS, K.CAC_FOLLOWUP: CAC_ITEMS, K.CAC_SUMMARY: SUMMARY_ITEMS,
         K.PIPL: PIPL_ITEMS}
BASIS = {
    K.POLICE: gettext_lazy("《计算机信息系统安全保护条例》 Art. 14: report a case within 24 hours"),
    K.CAC: gettext_lazy("《国家网络安全事件报告管理办法》 (2025) Art. 4 and 7"),
    K.CAC_FOLLOWUP: gettext_lazy("《国家网络安全事件报告管理办法》 (2025) Art. 7: follow-up report"),
    K.CAC_SUMMARY: gettext_lazy("《国家网络安全事件报告管理办法》 (2025) Art. 8: summary within 30 days"),
    K.PIPL: gettext_lazy("《个人信息保护法》 Art. 57: notify the authority and the individuals"),
}


def _target(plan: Plan, *kinds: str) -> str:
    return next((c.code for kind in kinds for c in plan.external_contacts if c.kind == kind), "")


def owed(incident: Incident, plan: Plan) -> list[tuple[str, str, datetime]]:
    """(kind, target contact, due) for every report this incident's facts require."""
    rules = plan.regulatory
    found = incident.reported_at
    out: list[tuple[str, str, datetime]] = []
    spread = incident.security in rules.police_when_spread and incident.scope != Incident.Scope.TERMINAL
    if incident.security in rules.police_when or spread:
        out.append((K.POLICE, _target(plan, "police"), found + timedelta(seconds=rules.police_within)))
    if incident.national_grade in rules.cac_grades:
        within = rules.cac_within_cii if plan.hospital.cii else rules.cac_within
        target = _target(plan, "protection_dept", "cac") if plan.hospital.cii else _target(plan, "cac")
        out.append((K.CAC, target, found + timedelta(seconds=within)))
    if incident.security == "data_leak":
        out.append((K.PIPL, _target(plan, "cac", "health_commission"), found + timedelta(seconds=rules.pipl_within)))
    return out


def prefill(incident: Incident, plan: Plan, kind: str) -> dict[str, str]:
    """What the platform already knows, so the office edits a draft instead of a blank form."""
    system = plan.system(incident.system)
    zone = plan.hospital.zone()
    found = incident.reported_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    facts = say(plan, gettext_lazy("Discovered %(found)s at %(location)s; %(system)s: %(symptom)s. Security: "
                                   "%(security)s. Grade: %(grade)s. Patients affected: %(patients)s."),
                found=found, location=incident.location or plan.hospital.name,
                system=system.name if system else incident.system, symptom=incident.title,
                security=say(plan, Incident.Security(incident.security).label),
                grade=plan.grade_name("national_grade", incident.national_grade) or "-",
                patients=incident.patients_affected)
    unit = f"{plan.hospital.name}; {system.name if system else incident.system}"
    drafts: dict[str, dict[str, str]] = {K.POLICE: {"facts": facts}, K.PIPL: {"data": facts},
                                         K.CAC: {"unit": unit, "event": facts}}
    return drafts.get(kind, {})


def ensure_reports(incident: Incident) -> list[RegulatoryReport]:
    """Open (once) every report the incident now requires, with its deadline timer. Called inside
    the caller's transaction (a re-grade, a fact change, an override)."""
    plan = plan_of(incident.plan_version_id)
    have = set(RegulatoryReport.objects.filter(incident=incident).values_list("kind", flat=True))
    opened = []
    for kind, target, due in owed(incident, plan):
        if kind not in have:
            opened.append(_open(incident, plan, kind, target, due))
    return opened


def _open(incident: Incident, plan: Plan, kind: str, target: str, due: datetime) -> RegulatoryReport:
    report = RegulatoryReport.objects.create(
        incident=incident, kind=kind, target=target, basis=say(plan, BASIS[K(kind)]), due_at=due,
        content=prefill(incident, plan, kind), created_at=clock.now())
    timers.schedule("regulatory", f"regulatory:{report.pk}", due, incident.pk, {"report": report.pk}, once=True)
    audit.append(WORKER.name, "regulatory.opened", "incident", incident.pk,
                 {"report": report.pk, "kind": kind, "target": target, "due": due.isoformat()})
    return report


def on_handling_ended(incident: Incident) -> None:
    """After a CAC report, the 30-day summary falls due when handling ends (restore)."""
    plan = plan_of(incident.plan_version_id)
    reports = RegulatoryReport.objects.filter(incident=incident)
    if reports.filter(kind=K.CAC).exists() and not reports.filter(kind=K.CAC_SUMMARY).exists():
        first = reports.filter(kind=K.CAC).first()
        _open(incident, plan, K.CAC_SUMMARY, first.target if first else "",
              clock.now() + timedelta(seconds=plan.regulatory.summary_within))


def changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether a form's text differs from what is kept, ignoring the line endings browsers send."""
    def norm(value: Any) -> str:
        return str(value or "").replace("\r\n", "\n").strip()
    return any(norm(before.get(key)) != norm(value) for key, value in after.items())


def approvers(roles: Sequence[str]) -> str:
    """The roles that may approve, in words: "指挥长 or 应急办公室"."""
    return _(" or ").join(str(dict(Role.choices).get(role, role)) for role in roles)


def needs_approval(plan: Plan, report: RegulatoryReport) -> list[str]:
    """The roles whose consent a report needs before it goes out; [] when none (or given)."""
    if report.kind != K.POLICE or report.approved_at:
        return []
    return list(plan.regulatory.police_approval)


def approve(actor: Actor, report: RegulatoryReport) -> RegulatoryReport:
    """The leadership agrees that the police report goes out; recorded on the chain with who."""
    plan = plan_of(report.incident.plan_version_id)
    roles = plan.regulatory.police_approval
    if report.kind != K.POLICE or not roles:
        raise InvalidTransition(_("This report needs no approval."), kind=report.kind, allowed=[])
    if not allowed(actor, "regulatory", frozenset(roles)):
        raise Forbidden(_("Only %(who)s may approve the police report.") % {
            "who": approvers(roles)}, action="approve_report")
    with audit.writing():
        report = RegulatoryReport.objects.select_related("incident").get(pk=report.pk)
        if report.approved_at:
            raise InvalidTransition(_("This report is already approved."), allowed=[])
        report.approved_at, report.approved_by = clock.now(), actor_name(actor)
        report.save(update_fields=["approved_at", "approved_by"])
        audit.append(actor_name(actor), "regulatory.approved", "incident", report.incident_id,
                     {"report": report.pk, "kind": report.kind})
    return report


def mark_sent(actor: Actor, report: RegulatoryReport, channel: str, receipt: str = "",
              content: dict[str, Any] | None = None, partial: bool = False) -> RegulatoryReport:
    """Recorded as sent (by phone to 12387, e-mail, the website...): the deadline is met."""
    require(actor, "regulatory")
    if not channel.strip():
        raise BadInput("channel", _("Say how it was sent (12387 phone, e-mail, website...)."))
    with audit.writing():
        report = RegulatoryReport.objects.select_related("incident").get(pk=report.pk)
        if report.sent_at:
            raise InvalidTransition(_("This report was already sent."), sent_at=report.sent_at.isoformat())
        if content and report.approved_at and changed(report.content, content):
            raise InvalidTransition(_("The report was changed after it was approved: save the draft and have it "
                                      "approved again."), allowed=["approve"])
        if waiting := needs_approval(plan_of(report.incident.plan_version_id), report):
            raise InvalidTransition(_("The police report goes out only after %(who)s has approved it.") % {
                "who": approvers(waiting)}, allowed=["approve"])
        if content:
            report.content = {**report.content, **{k: str(v) for k, v in content.items()}}
        report.partial, report.channel, report.receipt = partial, channel.strip()[:100], receipt.strip()[:200]
        report.sent_at, report.sent_by = clock.now(), actor_name(actor)
        report.save()
        late = report.sent_at > report.due_at
        timers.settle(f"regulatory:{report.pk}", by=actor_name(actor))
        audit.append(actor_name(actor), "regulatory.sent", "incident", report.incident_id,
                     {"report": report.pk, "kind": report.kind, "channel": report.channel, "late": late})
        if report.kind == K.CAC and partial:
            # Art. 7 §2: the rest follows as soon as it is known.
            plan = plan_of(report.incident.plan_version_id)
            _open(report.incident, plan, K.CAC_FOLLOWUP, report.target,
                  clock.now() + timedelta(seconds=plan.regulatory.cac_followup_within))
    return report


@timers.handler("regulatory")
def _report_overdue(timer: timers.Timer) -> None:
    """The legal deadline passed unsent: the commander and the office hear it at once."""
    report = RegulatoryReport.objects.select_related("incident").get(pk=timer.payload["report"])
    if report.sent_at:
        return
    incident = report.incident
    plan = plan_of(incident.plan_version_id)
    what = say(plan, gettext_lazy("%(report)s was due at %(due)s (%(limit)s after discovery) and is not sent."),
               report=say(plan, K(report.kind).label), due=report.due_at.astimezone(plan.hospital.zone())
               .strftime("%Y-%m-%d %H:%M"), limit=span(plan, int((report.due_at - incident.reported_at)
                                                                .total_seconds())))
    tell_breach(incident, plan, ["role:commander", f"group:{plan.organization.office.code}"], what)
    audit.append(WORKER.name, "timer.breached", "incident", incident.pk, {"deadline": report.kind,
                                                                         "report": report.pk})
