"""Turn audit entries into sentences in the reader's language.

The audit log stores structured data, not prose, so the same timeline reads in Chinese for the
ward and in English for a vendor engineer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from yingji.core.models import AuditEntry


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


def describe(entry: AuditEntry) -> Line:
    d = entry.data
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
    }
    make = texts.get(entry.action)
    text = make() if make else entry.action
    important = entry.action in ("incident.opened", "incident.activated", "incident.restored", "incident.closed")
    return Line(entry.at, entry.actor, entry.action, text, important)
