"""The report on the situation to the leading group, drafted from what Yingji knows.

Seed 000 asks the information center to report upward with five contents: where the information
came from, how far the fault reaches, its nature, how it is developing and the measures proposed.
`draft` fills each from the incident's rows in the plan's language (the leading group reads the
plan's language), so the engineer corrects a draft in the first minutes instead of typing one;
`reviews.actions.send_situation_report` sends and records it. Nothing here writes.
"""

from __future__ import annotations

from django.utils import timezone, translation
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from yingji.core import clock
from yingji.incidents.models import DepartmentTask, DowntimeMode, Incident, Report
from yingji.plans.schema import Plan
from yingji.web import words

from .models import SituationReport

LIMIT = 2000  # characters per content: a report, not a file


def _sentences(*parts: str) -> str:
    """Sentences one after the other: Chinese runs them together, English puts a space between."""
    return ("" if (translation.get_language() or "").startswith("zh") else " ").join(p for p in parts if p)


def _hm(value: object) -> str:
    return f"{timezone.localtime(value):%H:%M}"  # type: ignore[arg-type]


def _source(incident: Incident, plan: Plan) -> str:
    first = Report.objects.filter(incident=incident).order_by("reported_at").first()
    if first is None:
        return _("Opened at %(t)s.") % {"t": _hm(incident.reported_at)}
    where = _(", ").join(part for part in (first.location, words.department_name(plan, first.department)) if part)
    return _("%(n)s report(s) since %(first)s; the first from %(where)s, by %(channel)s; the latest at %(last)s.") % {
        "n": incident.reports_count, "first": _hm(first.reported_at), "where": where or _("a workstation"),
        "channel": first.get_channel_display(), "last": _hm(incident.last_report_at)}


def _scope(incident: Incident, plan: Plan) -> str:
    systems = _(", ").join(words.system_name(plan, code) for code in incident.systems())
    modes = DowntimeMode.objects.filter(incident=incident, ended_at__isnull=True).values_list("department", "mode")
    working = _(", ").join(_("%(department)s (%(mode)s)") % {
        "department": words.department_name(plan, d), "mode": DowntimeMode.Mode(m).label} for d, m in modes)
    text = _("%(systems)s: %(scope)s. Patients affected: %(patients)s.") % {
        "systems": systems, "scope": incident.get_scope_display(), "patients": incident.patients_affected}
    reach = _("Reach: %(level)s.") % {"level": plan.grade_name("scope_level", incident.scope_level)} \
        if incident.scope_level else ""
    return _sentences(text, reach, _("Working in a downtime mode: %(who)s.") % {"who": working} if working else "")


def _nature(incident: Incident, plan: Plan) -> str:
    named = plan.grading.fault(incident.fault) if incident.fault else None
    cause = (_("%(cause)s (%(fault)s)") % {"cause": incident.get_cause_display(), "fault": named.name} if named
             else incident.get_cause_display())
    kinds = [plan.grade_name(scheme, getattr(incident, scheme)) for scheme in ("event_type", "category")
             if getattr(incident, scheme)]
    return _("%(class)s, %(level)s; %(kinds)s. Cause: %(cause)s. Security: %(security)s.") % {
        "class": plan.grade_name("fault_class", incident.fault_class),
        "level": plan.grade_name("response_level", incident.response_level),
        "kinds": _(", ").join(kinds) or "–", "cause": cause, "security": incident.get_security_display()}


def _trend(incident: Incident, plan: Plan) -> str:
    if incident.restored_at:
        return _("Restored at %(t)s after %(elapsed)s.") % {
            "t": _hm(incident.restored_at), "elapsed": timesince(incident.reported_at, incident.restored_at)}
    text = _("Down for %(elapsed)s and not yet restored; %(duration)s so far.") % {
        "elapsed": timesince(incident.reported_at, clock.now()),
        "duration": plan.grade_name("duration_level", incident.duration_level)}
    pending = incident.timers.filter(state="pending", kind="regrade").order_by("due_at").first()  # type: ignore[attr-defined]
    again = _("The grades are looked at again at %(t)s if it is still down.") % {"t": _hm(pending.due_at)} \
        if pending else ""
    return _sentences(text, again)


def _measures(incident: Incident, plan: Plan) -> str:
    parts = [_("Engineer on site since %(t)s.") % {"t": _hm(incident.on_site_at)} if incident.on_site_at
             else _("No engineer on site yet.")]
    if incident.plan_active:
        parts.append(_("The plan is active at %(level)s.") % {
            "level": plan.grade_name("response_level", incident.activation_level)})
    tasks = DepartmentTask.objects.filter(incident=incident)
    procedures = [words.department_name(plan, t.scenario) for t in tasks if t.scenario]
    if procedures:
        parts.append(_("Procedures running: %(names)s.") % {"names": _(", ").join(procedures)})
    departments = [t for t in tasks if t.department]
    if departments:
        parts.append(_("%(acked)s of %(n)s departments have acknowledged.") % {
            "acked": sum(1 for t in departments if t.acknowledged_at), "n": len(departments)})
    parts.append(_("Proposed: "))
    return _sentences(*parts)


def draft(incident: Incident, plan: Plan) -> dict[str, str]:
    """The five contents as Yingji knows them now, in the plan's language."""
    with translation.override(plan.hospital.language):
        return {"source": _source(incident, plan), "scope": _scope(incident, plan),
                "nature": _nature(incident, plan), "trend": _trend(incident, plan),
                "measures": _measures(incident, plan)}


def as_text(contents: dict[str, str], plan: Plan) -> str:
    """The report as one message: each content after its heading."""
    with translation.override(plan.hospital.language):
        return "\n".join(_("%(label)s: %(text)s") % {"label": label, "text": contents[key]}
                          for key, label in SituationReport.CONTENTS)
