"""Turn audit entries into sentences in the reader's language.

The audit log stores structured data, not prose, so the same timeline reads in Chinese for the
ward and in English for a vendor engineer. Codes in the data (people, departments, grades, modes,
deadlines) are said in words: the plan's own names for the plan's codes, the catalog's for Yingji's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from yingji.core.actors import display_name
from yingji.core.models import AuditEntry
from yingji.incidents.models import Report
from yingji.plans.durations import human_duration, parse_duration
from yingji.plans.schema import Plan
from yingji.reviews.models import RegulatoryReport

from . import words
from .words import choice, department_name, grade_name, listed, people, scheme_name, system_name, target_name, word

# Left out of an incident's timeline: one line per paper slip would bury the story.
QUIET = {"record.added", "incident.loop_closed"}


@dataclass
class Line:
    at: datetime
    actor: str  # who, in words (the entry itself keeps the code)
    action: str
    text: str
    important: bool


# Each key of a grading condition, as a phrase with its value (a list means any one of them).
CONDITIONS = {
    "systems": gettext_lazy("system %(v)s"), "criticality": gettext_lazy("criticality %(v)s"),
    "scope": gettext_lazy("scope %(v)s"), "cause": gettext_lazy("cause %(v)s"),
    "faults": gettext_lazy("fault: %(v)s"),
    "security": gettext_lazy("security incident %(v)s"), "outage_over": gettext_lazy("outage longer than %(v)s"),
    "patients_over": gettext_lazy("more than %(v)s patients affected"),
}
# Why the grades were looked at again.
WHY = {
    "reported": gettext_lazy("first report"), "report": gettext_lazy("new report"),
    "elapsed": gettext_lazy("time elapsed"), "facts": gettext_lazy("facts changed"),
    "restored": gettext_lazy("system restored"), "cancelled": gettext_lazy("incident cancelled"),
    "merged": gettext_lazy("incident merged"), "override removed": gettext_lazy("override removed"),
    "fix deadline passed": gettext_lazy("fix deadline passed"),
}


def _fault_name(plan: Plan | None, code: str) -> str:
    fault = plan.grading.fault(code) if plan else None
    return fault.name if fault else code


def _condition(cond: dict[str, Any], plan: Plan | None = None) -> str:
    parts = []
    for key, value in cond.items():
        if key == "outage_over":
            shown = human_duration(parse_duration(value))
        elif key == "faults":
            shown = _(" or ").join(_fault_name(plan, v) for v in value)
        elif isinstance(value, list):
            shown = _(" or ").join(value if key == "systems" else [choice(key, v) for v in value])
        else:
            shown = str(value)
        parts.append(str(CONDITIONS[key]) % {"v": shown} if key in CONDITIONS else f"{key} {shown}")
    return _("; ").join(parts)


def grade_reason(data: dict[str, Any], plan: Plan | None = None) -> str:
    """Why a grade is what it is, from an `incident.graded` entry's data, in words."""
    if data.get("raised"):
        return _("raised one step: the fix deadline passed")
    if data.get("rule") is None:
        return _("no rule matched: the plan's default grade")
    return _("rule %(n)s matched: %(cond)s") % {"n": data["rule"] + 1,
                                                 "cond": _condition(data.get("condition", {}), plan)}


def _fact(field: str, value: Any, plan: Plan | None = None) -> str:
    if field in ("scope", "cause", "security"):
        return choice(field, value)
    if field == "fault":
        return _fault_name(plan, value) if value else "–"
    if isinstance(value, list):
        return listed(value) or "–"
    return str(value) if value not in (None, "") else "–"


def _local(plan: Plan | None, value: str) -> str:
    """An ISO moment from the entry as the hospital's wall-clock time; a plain date stays as it is."""
    at = parse_datetime(value) if value and "T" in value else None
    if at is None:
        return value or "–"
    return at.astimezone(plan.hospital.zone() if plan else None).strftime("%m-%d %H:%M")


def _names(data: dict[str, Any], plan: Plan | None) -> dict[str, Any]:
    """Codes in the entry replaced by what they stand for."""
    out = dict(data)
    if dept := data.get("department"):
        out["department"] = department_name(plan, dept)
    if code := data.get("scenario"):
        out["scenario"] = department_name(plan, code)
    if scheme := data.get("scheme"):
        out["scheme"] = scheme_name(plan, scheme)
        out["before"] = grade_name(plan, scheme, data.get("before"))
        out["after"] = grade_name(plan, scheme, data.get("after")) if data.get("after") else None
    if "why" in data:
        out["why"] = word(WHY, data["why"])
    if channel := data.get("channel"):
        out["channel"] = dict(Report.Channel.choices).get(channel, channel)
    if kind := data.get("kind"):
        out["kind"] = word({k.value: k.label for k in RegulatoryReport.Kind}, kind)
    if "level" in data:
        out["level"] = grade_name(plan, "response_level", data["level"])
    if "via" in data:
        out["via"] = word(words.VIA, data["via"])
    if "as_" in data:
        out["as_"] = word(words.SIGNED_AS, data["as_"])
    if "owner" in data:
        out["owner"] = display_name(data["owner"], plan)
    if "due" in data:
        out["due"] = _local(plan, data["due"])
    return out


def _noted(what: str, note: str | None) -> str:
    return _("%(what)s: %(note)s") % {"what": what, "note": note} if note else what


def _deadline(d: dict[str, Any]) -> str:
    what = word(words.DEADLINES, d.get("deadline", ""))
    return _("%(what)s (%(which)s)") % {"what": what, "which": d["department"]} if d.get("department") else what


def describe(entry: AuditEntry, plan: Plan | None = None) -> Line:
    d = _names(entry.data, plan)
    raw = entry.data
    texts = {
        "incident.opened": lambda: _("Incident %(number)s opened for %(system)s: %(symptom)s") % d,
        "report.received": lambda: (_("Report %(report)s joined this incident (%(channel)s)") if d.get("merged")
                                    else _("Report %(report)s received (%(channel)s)")) % d,
        "incident.graded": lambda: _("%(scheme)s: %(before)s → %(after)s (%(why)s; %(reason)s)") % {
            **d, "reason": grade_reason(raw, plan)},
        "incident.acknowledged": lambda: _("Acknowledged"),
        "incident.on_site": lambda: _("Engineer on site"),
        "incident.activated": lambda: _("Emergency plan activated: %(level)s") % d,
        "incident.stood_down": lambda: _("Plan stood down"),
        "incident.restored": lambda: _noted(_("Restored"), d.get("note")) if "unconfirmed" not in raw else _(
            "Restored by the monitor: every alert resolved; not confirmed by a person: %(checks)s") % {
            "checks": _("; ").join(str(c).rstrip("。.") for c in raw["unconfirmed"]) or _("nothing to confirm")},
        "reporters.told": lambda: _("%(reports)s reports marked restored; %(users)s reporters told in the app") % d,
        "incident.closed": lambda: _noted(_("Closed"), d.get("note")),
        "incident.cancelled": lambda: _("Cancelled: %(reason)s") % d,
        "incident.merged": lambda: _("Merged into %(into)s (%(reports)s reports moved)") % d,
        "incident.absorbed": lambda: _("Incident %(incident)s merged into this one (%(reports)s reports)") % d,
        "incident.facts": lambda: _("Facts updated: %(changes)s") % {"changes": listed(
            f"{word(words.FACTS, k)} {_fact(k, raw.get('before', {}).get(k), plan)} → {_fact(k, v, plan)}"
            for k, v in raw.get("after", {}).items())},
        "incident.grade_overridden": lambda: _("%(scheme)s set by hand to %(after)s: %(reason)s") % {
            **d, "after": d.get("after") or _("(back to the rules)")},
        "department.acknowledged": lambda: (_("%(department)s acknowledged the activation (late)") if d.get("late")
                                            else _("%(department)s acknowledged the activation")) % d,
        "checklist.ticked": lambda: _("%(department)s: done — %(text)s") % d,
        "checklist.unticked": lambda: _("%(department)s: undone — %(text)s") % d,
        "incident.paged": lambda: _("Paged (step %(step)s): %(people)s") % {
            **d, "people": people(plan, raw.get("people") or []) or "–"},
        "incident.activation_requested": lambda: _("%(level)s needs the plan activated: asked %(people)s") % {
            "level": grade_name(plan, "response_level", raw.get("level", "")),
            "people": people(plan, raw.get("people") or []) or "–"},
        "incident.report_requested": lambda: _("%(level)s: %(people)s must report to %(to)s") % {
            "level": grade_name(plan, "response_level", raw.get("level", "")),
            "people": people(plan, raw.get("people") or []) or "–", "to": people(plan, raw.get("to") or []) or "–"},
        "incident.level_reported": lambda: _("%(name)s reported %(level)s to the command") % {
            "name": display_name(raw.get("person", ""), plan),
            "level": grade_name(plan, "response_level", raw.get("level", ""))},
        "scenario.raised": lambda: (_("Started by itself: %(scenario)s") if raw.get("automatic")
                                    else _("Scenario plan started: %(scenario)s")) % d,
        "incident.unreached": lambda: _("Nobody could be told for %(target)s: the office was asked to") % {
            "target": target_name(plan, raw.get("target", ""))},
        "page.acknowledged": lambda: _("%(name)s acknowledged the page (%(via)s)") % d,
        "timer.breached": lambda: _("Deadline missed: %(deadline)s") % {"deadline": _deadline(d)},
        "incident.escalated": lambda: _("Escalated: %(raised)s") % {"raised": listed(
            f"{scheme_name(plan, k)} {grade_name(plan, k, v)}" for k, v in (raw.get("raised") or {}).items())},
        "mode.declared": lambda: _("%(mode)s declared for %(departments)s") % {
            "mode": choice("mode", raw.get("mode", "")),
            "departments": listed(department_name(plan, c) for c in raw.get("departments") or []) or "–"},
        "modes.ended": lambda: _("Downtime modes ended"),
        "mode.ended": lambda: _("%(department)s is back in the system") % {"department": d.get("department")},
        "peak.prompted": lambda: _("Peak hours: the office was asked to redeploy staff"),
        "records.imported": lambda: _("Manual records imported from %(file)s: %(accepted)s accepted, "
                                      "%(rejected)s rejected") % d,
        "reconciliation.expected": lambda: _("%(department)s paper log: %(expected_count)s slips, %(amount)s") % {
            **d, "amount": d.get("expected_amount") or "–"},
        "reconciliation.signed": lambda: _("%(department)s reconciliation signed (%(as_)s)") % d,
        "backentry.completed": lambda: _("Back-entry completed and signed off"),
        "regulatory.opened": lambda: _("Report owed: %(kind)s, due %(due)s") % d,
        "situation.reported": lambda: _("Situation report %(number)s sent to the leading group: %(people)s") % {
            "number": raw.get("number", ""), "people": people(plan, raw.get("people") or []) or "–"},
        "alerts.attached": lambda: ngettext("%(count)s alert from the monitors joined (%(first)s)",
                                            "%(count)s alerts from the monitors joined (%(first)s)",
                                            raw.get("count", 0)) % {"count": raw.get("count", 0),
                                                                    "first": raw.get("first", "")},
        "alerts.suppressed": lambda: ngettext(
            "%(count)s alert of %(system)s joined: it depends on %(behind)s, which is down; nobody was paged",
            "%(count)s alerts of %(system)s joined: it depends on %(behind)s, which is down; nobody was paged",
            raw.get("count", 0)) % {"count": raw.get("count", 0), "system": system_name(plan, raw.get("system", "")),
                                    "behind": system_name(plan, raw.get("behind", ""))},
        "alerts.resolved": lambda: _("Every alert from the monitors is resolved (%(count)s): check and mark it "
                                     "restored") % {"count": raw.get("count", 0)},
        "regulatory.approved": lambda: _("Report approved for sending: %(kind)s") % d,
        "regulatory.sent": lambda: _("Report sent: %(kind)s via %(channel)s") % d,
        "regulatory.drafted": lambda: _("Report draft edited: %(kind)s") % d,
        "bulletin.lowered": lambda: _("Bulletin lowered"),
        "evidence.preserved": lambda: _("Evidence preserved: %(what)s (%(location)s)") % {
            **d, "location": d.get("location") or "–"},
        "review.saved": lambda: _("Review edited"),
        "corrective.added": lambda: _("Corrective action added (owner %(owner)s, due %(due)s)") % d,
        "corrective.done": lambda: _("Corrective action done"),
    }
    make = texts.get(entry.action)
    text = make() if make else entry.action
    important = entry.action in ("incident.opened", "incident.activated", "incident.restored", "incident.closed")
    return Line(entry.at, display_name(entry.actor, plan), entry.action, text, important)
