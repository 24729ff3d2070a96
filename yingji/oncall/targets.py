"""Turn the plan's targets (person:, role:, group:, oncall:, department:) into people.

Resolved when the page is sent, not when the plan is written: `oncall:technical` means whoever
holds the technical group's roster at that moment.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from yingji.plans.schema import TARGET_RE, Plan

from .rosters import duty_at


def resolve(plan: Plan, targets: list[str], at: datetime) -> list[str]:
    """Person codes, in order, each once."""
    people: list[str] = []
    for target in targets:
        match = TARGET_RE.match(target)
        if not match:
            continue
        for code in _one(plan, match[1], match[2], at):
            if code not in people:
                people.append(code)
    return people


def _group_people(plan: Plan, code: str) -> list[str]:
    group = next((g for g in plan.organization.all_groups() if g.code == code), None)
    if group is None:
        return []
    return [c for c in (group.leader, *group.deputies, *group.members) if c]


def _one(plan: Plan, kind: str, code: str, at: datetime) -> list[str]:
    match kind:
        case "person":
            return [code]
        case "role":
            return [p.code for p in plan.people if p.role == code]
        case "group":
            return _group_people(plan, code)
        case "department":
            department = plan.department(code)
            return [department.lead] if department and department.lead else []
        case "oncall":
            roster = plan.roster_of_group(code)
            if roster is None:  # no roster: the group's leader answers (and the dashboard warns)
                return _group_people(plan, code)[:1]
            return [duty_at(plan, roster, at).person]
    return []


def why_nobody(plan: Plan, target: str) -> tuple[str, str]:
    """(who was meant, why nobody is reached), in the active language, for a target the plan
    leaves empty (`Plan.silent_target`)."""
    from yingji.accounts.models import Role

    kind, _sep, code = target.partition(":")
    if kind == "department":
        department = plan.department(code)
        name = department.name if department else code
        return name, _("%(name)s has no head in the plan") % {"name": name}
    if kind == "role":
        return str(dict(Role.choices).get(code, code)), _("nobody in the plan holds this role")
    group = next((g for g in plan.organization.all_groups() if g.code == code), None)
    name = group.name if group else code
    return name, _("%(name)s has nobody in it in the plan") % {"name": name}
