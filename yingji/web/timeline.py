"""Turn audit entries into sentences in the reader's language.

The audit log stores structured data, not prose, so the same timeline reads in Chinese for the
ward and in English for a vendor engineer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from yingji.core.models import AuditEntry
from yingji.incidents.models import Report
from yingji.plans.schema import Plan

# Left out of an incident's timeline: one line per paper slip would bury the story.
QUIET = {"record.added", "incident.loop_closed"}


@dataclass
class Line:
    at: datetime
    actor: str
    action: str
    text: str
    important: bool


def _condition(cond: dict) -> str:
    parts = []
    labels = {
        "systems": _("systems"), "criticality": _("criticality"), "scope": _("scope"), "cause": _("cause"),
        "security": _("security"), "outage_over": _("outage longer than"), "patients_over": _("patients over"),
    }
    for key, value in cond.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        parts.append(f"{labels.get(key, key)} {shown}")
    return "; ".join(parts)


def grade_reason(data: dict) -> str:
    if data.get("rule") is None:
        return _("no rule matched: the plan's default grade")
    return _("rule %(n)s matched: %(cond)s") % {"n": data["rule"] + 1, "cond": _condition(data.get("condition", {}))}


def _why(code: str) -> str:
    return {"reported": _("reported"), "report": _("new report"), "elapsed": _("time elapsed"),
            "facts": _("facts changed"), "restored": _("restored"), "cancelled": _("cancelled"),
            "merged": _("merged"), "override removed": _("override removed")}.get(code, code)


def _names(data: dict, plan: Plan | None) -> dict:
    """Codes in the entry replaced by what the plan calls them, in the plan's own words."""
    out = dict(data)
    if plan is None:
        return out
    if dept := data.get("department"):
        found = plan.department(dept) or plan.scenario(dept)
        out["department"] = found.name if found else dept
    if code := data.get("scenario"):
        scenario = plan.scenario(code)
        out["scenario"] = scenario.name if scenario else code
    if scheme := data.get("scheme"):
        out["scheme"] = getattr(plan.grading, scheme).name if hasattr(plan.grading, scheme) else scheme
    if "why" in data:
        out["why"] = _why(data["why"])
    if channel := data.get("channel"):
        out["channel"] = dict(Report.Channel.choices).get(channel, channel)
    return out


def describe(entry: AuditEntry, plan: Plan | None = None) -> Line:
    d = _names(entry.data, plan)
    texts = {
        "incident.opened": lambda: _("Incident %(number)s opened for %(system)s: %(symptom)s") % d,
        "report.received": lambda: (_("Report %(report)s joined this incident (%(channel)s)") if d.get("merged")
                                    else _("Report %(report)s received (%(channel)s)")) % d,
        "incident.graded": lambda: _("%(scheme)s: %(before)s → %(after)s (%(why)s; %(reason)s)") % {
            **d, "before": d.get("before") or "–", "reason": grade_reason(d)},
        "incident.acknowledged": lambda: _("Acknowledged"),
        "incident.on_site": lambda: _("Engineer on site"),
        "incident.activated": lambda: _("Emergency plan activated at level %(level)s") % d,
        "incident.stood_down": lambda: _("Plan stood down"),
        "incident.restored": lambda: _("Restored") + (f": {d['note']}" if d.get("note") else ""),
        "reporters.told": lambda: _("%(reports)s reports marked restored; %(users)s reporters told in the app") % d,
        "incident.closed": lambda: _("Closed") + (f": {d['note']}" if d.get("note") else ""),
        "incident.cancelled": lambda: _("Cancelled: %(reason)s") % d,
        "incident.merged": lambda: _("Merged into %(into)s (%(reports)s reports moved)") % d,
        "incident.absorbed": lambda: _("Incident %(incident)s merged into this one (%(reports)s reports)") % d,
        "incident.facts": lambda: _("Facts updated: %(changes)s") % {
            "changes": ", ".join(f"{k} {d['before'].get(k)} → {v}" for k, v in d.get("after", {}).items())},
        "incident.grade_overridden": lambda: _("%(scheme)s set by hand to %(after)s: %(reason)s") % {
            **d, "after": d.get("after") or _("(back to the rules)")},
        "department.acknowledged": lambda: (_("%(department)s acknowledged the activation (late)") if d.get("late")
                                            else _("%(department)s acknowledged the activation")) % d,
        "checklist.ticked": lambda: _("%(department)s: done — %(text)s") % d,
        "checklist.unticked": lambda: _("%(department)s: undone — %(text)s") % d,
        "incident.paged": lambda: _("Paged (step %(step)s): %(people)s") % {
            **d, "people": ", ".join(d.get("people") or []) or "-"},
        "incident.activation_requested": lambda: _("Level %(level)s needs the plan activated: asked %(people)s") % {
            **d, "people": ", ".join(d.get("people") or []) or "-"},
        "page.acknowledged": lambda: _("%(name)s acknowledged the page (%(via)s)") % d,
        "timer.breached": lambda: _("Deadline missed: %(deadline)s") % d,
        "incident.escalated": lambda: _("Escalated: %(raised)s") % {
            "raised": ", ".join(f"{k} {v}" for k, v in (d.get("raised") or {}).items())},
        "mode.declared": lambda: _("%(mode)s declared for %(departments)s") % {
            "mode": d.get("mode"), "departments": ", ".join(d.get("departments") or []) or "-"},
        "modes.ended": lambda: _("Downtime modes ended"),
        "mode.ended": lambda: _("%(department)s is back in the system") % {"department": d.get("department")},
        "peak.prompted": lambda: _("Peak hours: the office was asked to redeploy staff"),
        "records.imported": lambda: _("Manual records imported from %(file)s: %(accepted)s accepted, "
                                      "%(rejected)s rejected") % d,
        "reconciliation.expected": lambda: _("%(department)s paper log: %(expected_count)s slips, %(amount)s") % {
            **d, "amount": d.get("expected_amount") or "-"},
        "reconciliation.signed": lambda: _("%(department)s reconciliation signed (%(as_)s)") % d,
        "backentry.completed": lambda: _("Back-entry completed and signed off"),
        "regulatory.opened": lambda: _("Report owed: %(kind)s, due %(due)s") % d,
        "regulatory.sent": lambda: _("Report sent: %(kind)s via %(channel)s") % d,
        "regulatory.drafted": lambda: _("Report draft edited: %(kind)s") % d,
        "scenario.raised": lambda: _("Scenario plan started: %(scenario)s") % d,
        "bulletin.lowered": lambda: _("Bulletin lowered"),
        "evidence.preserved": lambda: _("Evidence preserved: %(what)s (%(location)s)") % {
            **d, "location": d.get("location") or "-"},
        "review.saved": lambda: _("Review edited"),
        "corrective.added": lambda: _("Corrective action added (owner %(owner)s, due %(due)s)") % d,
        "corrective.done": lambda: _("Corrective action done"),
    }
    make = texts.get(entry.action)
    text = make() if make else entry.action
    important = entry.action in ("incident.opened", "incident.activated", "incident.restored", "incident.closed")
    return Line(entry.at, entry.actor, entry.action, text, important)
