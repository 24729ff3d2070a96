"""Warnings the office must see before a page goes nowhere."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from yingji.notify import channels
from yingji.notify.service import profiles
from yingji.plans.schema import TARGET_RE, Plan

from .rosters import duty_at
from .targets import resolve


def all_targets(plan: Plan) -> list[str]:
    lists = [t.page + t.escalation for t in plan.treatment] + [a.notify for a in plan.activation]
    lists += [m.notify for m in plan.timers.modes] + [s.notify for s in plan.scenarios]
    lists += [plan.timers.on_site_breach, plan.timers.fix_breach, plan.timers.department_ack_breach]
    return [target for targets in lists for target in targets]


def warnings(plan: Plan, at: datetime) -> list[str]:
    out = []
    targets = all_targets(plan)
    for group in sorted({m[2] for t in targets if (m := TARGET_RE.match(t)) and m[1] == "oncall"}):
        if plan.roster_of_group(group) is None:
            found = next((g for g in plan.organization.all_groups() if g.code == group), None)
            out.append(_("Group %(group)s has no roster: its leader is paged instead of someone on duty.")
                       % {"group": found.name if found else group})
    for roster in plan.rosters:
        on_duty = duty_at(plan, roster, at).person
        if plan.person(on_duty) is None:
            out.append(_("Nobody known is on duty for %(roster)s (%(person)s).") % {"roster": roster.name,
                                                                                   "person": on_duty})
    known = profiles()
    pageable = resolve(plan, targets, at) + [m for r in plan.rosters for m in r.members]
    for code in dict.fromkeys(pageable):
        person = plan.person(code)
        working = [c for c in channels.channels_for(plan, person)
                   if channels.channel_url(c) and channels.address_for(c, person, known.get(code, {})) is not None]
        if not working:
            out.append(_("%(name)s has no working contact method: pages to them cannot be delivered.")
                       % {"name": person.name if person else code})
    return out
